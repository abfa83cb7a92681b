#include "media-chunk.h"
#include "contract.h"

namespace {

mtmd_bitmap * bitmapOf(Napi::Env env, Napi::Object it) {
    mtmd_bitmap * bmp;
    auto typed = [&](const char * key, napi_typedarray_type type) {
        Napi::Value v = it.Get(key);
        return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == type;
    };
    if (typed("samples", napi_float32_array)) {
        Napi::Float32Array s = it.Get("samples").As<Napi::Float32Array>();
        bmp = mtmd_bitmap_init_from_audio(s.ElementLength(), s.Data());
    } else {
        if (!typed("rgb", napi_uint8_array) || !it.Get("width").IsNumber() || !it.Get("height").IsNumber()) throw Napi::TypeError::New(env, "native contract: a media item is {samples: Float32Array} or {width, height, rgb: Uint8Array}");
        Napi::Uint8Array rgb = it.Get("rgb").As<Napi::Uint8Array>();
        uint32_t w = it.Get("width").As<Napi::Number>().Uint32Value(), h = it.Get("height").As<Napi::Number>().Uint32Value();
        if ((size_t) w * h * 3 != rgb.ElementLength()) throw Napi::RangeError::New(env, "image bytes do not match width x height x 3");
        bmp = mtmd_bitmap_init(w, h, rgb.Data());
    }
    // The id names the chunk: sessions match media already in the KV cache by it.
    if (it.Get("id").IsString()) mtmd_bitmap_set_id(bmp, it.Get("id").As<Napi::String>().Utf8Value().c_str());
    return bmp;
}

} // namespace

namespace {

// libmtmd's result as JS: text runs as Int32Arrays, each media chunk as its own handle.
Napi::Value chunksToJs(Napi::Env env, const std::shared_ptr<mtmd_context> & encoder, mtmd_input_chunks * chunks) {
    Napi::Array out = Napi::Array::New(env);
    for (size_t i = 0; i < mtmd_input_chunks_size(chunks); i++) {
        const mtmd_input_chunk * c = mtmd_input_chunks_get(chunks, i);
        Napi::Object o = Napi::Object::New(env);
        if (mtmd_input_chunk_get_type(c) == MTMD_INPUT_CHUNK_TYPE_TEXT) {
            size_t n = 0;
            const llama_token * toks = mtmd_input_chunk_get_tokens_text(c, &n);
            Napi::Int32Array a = Napi::Int32Array::New(env, n);
            for (size_t j = 0; j < n; j++) a[j] = toks[j];
            o.Set("type", "text");
            o.Set("tokens", a);
        } else {
            o.Set("type", mtmd_input_chunk_get_type(c) == MTMD_INPUT_CHUNK_TYPE_AUDIO ? "audio" : "image");
            const char * id = mtmd_input_chunk_get_id(c);
            o.Set("id", id ? id : "");
            o.Set("tokens", (double) mtmd_input_chunk_get_n_tokens(c));
            o.Set("positions", (double) mtmd_input_chunk_get_n_pos(c));
            auto * holder = new std::shared_ptr<MediaChunk>(std::make_shared<MediaChunk>());
            (*holder)->encoder = encoder;
            (*holder)->chunk = mtmd_input_chunk_copy(c);
            o.Set("chunk", Napi::External<std::shared_ptr<MediaChunk>>::New(env, holder, [](Napi::Env, std::shared_ptr<MediaChunk> * h) { delete h; }));
        }
        out.Set((uint32_t) i, o);
    }
    return out;
}

// Runs one libmtmd tokenization into fresh chunks and hands them to JS; `rc` is libmtmd's status.
template <typename Tokenize>
Napi::Value runTokenize(Napi::Env env, const std::shared_ptr<mtmd_context> & encoder, const char * mismatch, Tokenize tokenize) {
    mtmd_input_chunks * chunks = mtmd_input_chunks_init();
    int32_t rc = tokenize(chunks);
    if (rc != 0) {
        mtmd_input_chunks_free(chunks);
        Napi::Error e = Napi::Error::New(env, rc == 1 ? mismatch : "the image or audio could not be preprocessed by the encoder");
        e.Value().Set("kind", rc == 1 ? "internal" : "user"); // a marker mismatch is autoglm's bug, a bad clip the request's
        throw e;
    }
    Napi::Value out = chunksToJs(env, encoder, chunks);
    mtmd_input_chunks_free(chunks);
    return out;
}

struct Bitmaps {
    std::vector<mtmd_bitmap *> list;
    ~Bitmaps() { for (auto * b : list) mtmd_bitmap_free(b); }
};

} // namespace

Napi::Value tokenizeMediaPrompt(Napi::Env env, const std::shared_ptr<mtmd_context> & encoder, const std::string & text, Napi::Array items) {
    Bitmaps bitmaps;
    for (uint32_t i = 0; i < items.Length(); i++) bitmaps.list.push_back(bitmapOf(env, items.Get(i).As<Napi::Object>()));
    mtmd_input_text input{text.c_str(), text.size(), false, true};
    return runTokenize(env, encoder, "the prompt's media markers do not match the media given", [&](mtmd_input_chunks * chunks) {
        return mtmd_tokenize(encoder.get(), chunks, &input, (const mtmd_bitmap **) bitmaps.list.data(), bitmaps.list.size());
    });
}

Napi::Value tokenizeMediaParts(Napi::Env env, const std::shared_ptr<mtmd_context> & encoder, const Napi::Value & value) {
    if (!value.IsArray()) throw Napi::TypeError::New(env, "native contract: the parts must be an array of {text, special} and media items");
    Napi::Array list = value.As<Napi::Array>();
    // Every part is read before libmtmd runs: the texts and bitmaps outlive the parts that point at them.
    std::vector<std::string> texts;
    std::vector<bool> special;
    Bitmaps bitmaps;
    std::vector<int> kinds; // index into texts (>= 0) or into bitmaps (-1 - index)
    for (uint32_t i = 0; i < list.Length(); i++) {
        Napi::Value v = list.Get(i);
        if (!v.IsObject() || v.IsArray()) throw Napi::TypeError::New(env, "native contract: a prompt part must be an object");
        Napi::Object o = v.As<Napi::Object>();
        if (o.Has("text")) {
            texts.push_back(contract::string(env, o.Get("text"), "a text part's text"));
            special.push_back(contract::boolean(env, o.Get("special"), "a text part's special"));
            kinds.push_back((int) texts.size() - 1);
        } else {
            bitmaps.list.push_back(bitmapOf(env, o));
            kinds.push_back(-(int) bitmaps.list.size());
        }
    }
    std::vector<mtmd_input_text> inputs(texts.size());
    for (size_t i = 0; i < texts.size(); i++) inputs[i] = {texts[i].data(), texts[i].size(), false, special[i]};
    std::vector<mtmd_input_part> parts(kinds.size());
    std::vector<const mtmd_input_part *> pointers(kinds.size());
    for (size_t i = 0; i < kinds.size(); i++) {
        parts[i] = kinds[i] >= 0 ? mtmd_input_part{&inputs[kinds[i]], nullptr} : mtmd_input_part{nullptr, bitmaps.list[-kinds[i] - 1]};
        pointers[i] = &parts[i];
    }
    return runTokenize(env, encoder, "libmtmd refused the prompt's parts", [&](mtmd_input_chunks * chunks) {
        return mtmd_tokenize_from_parts(encoder.get(), chunks, pointers.data(), pointers.size(), false);
    });
}

PromptPiece promptPieceOf(Napi::Env env, const Napi::Value & v) {
    PromptPiece p;
    if (v.IsTypedArray()) {
        p.tokens = contract::tokens(env, v, "a prompt piece");
    } else if (v.IsExternal()) {
        p.media = *v.As<Napi::External<std::shared_ptr<MediaChunk>>>().Data();
    } else {
        throw Napi::TypeError::New(env, "a prompt piece is an Int32Array of tokens or a media chunk");
    }
    return p;
}
