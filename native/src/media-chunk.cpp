#include "media-chunk.h"
#include "contract.h"

// Every libmtmd object made here has an owner from the moment it exists (mtmd::bitmap_ptr,
// mtmd::input_chunks_ptr, mtmd::input_chunk_ptr, std::unique_ptr), so a throw at any point (a
// wrong item type, a failed tokenize, an exception while the result array is built) frees it.

namespace {

// Marks the handles made here, so promptPieceOf refuses an External some other addon made.
const napi_type_tag MEDIA_CHUNK_TAG = {0x6175746f676c6d2dULL, 0x6d656469612d3031ULL};

mtmd::bitmap_ptr bitmapOf(Napi::Env env, const Napi::Value & v, const char * what) {
    contract::MediaItem item = contract::mediaItem(env, v, what);
    mtmd::bitmap_ptr bmp(item.audio ? mtmd_bitmap_init_from_audio(item.samples.ElementLength(), item.samples.Data())
                                    : mtmd_bitmap_init(item.width, item.height, item.rgb.Data()));
    if (!bmp) throw Napi::Error::New(env, "libmtmd could not hold this image or audio clip");
    // The id names the chunk: sessions match media already in the KV cache by it.
    if (!item.id.empty()) mtmd_bitmap_set_id(bmp.get(), item.id.c_str());
    return bmp;
}

/** A media chunk as JS sees it: its type, content id, cells, positions, and a handle that owns a copy. */
Napi::Object mediaChunkObject(Napi::Env env, const std::shared_ptr<mtmd_context> & encoder, int32_t maxThreads, const mtmd_input_chunk * c) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("type", mtmd_input_chunk_get_type(c) == MTMD_INPUT_CHUNK_TYPE_AUDIO ? "audio" : "image");
    const char * id = mtmd_input_chunk_get_id(c);
    o.Set("id", id ? id : "");
    o.Set("tokens", (double) mtmd_input_chunk_get_n_tokens(c));
    o.Set("positions", (double) mtmd_input_chunk_get_n_pos(c));
    auto media = std::make_shared<MediaChunk>();
    media->encoder = encoder;
    media->maxThreads = maxThreads;
    media->chunk = mtmd_input_chunk_copy(c); // MediaChunk frees it
    if (media->chunk == nullptr) throw Napi::Error::New(env, "libmtmd could not copy a media chunk");
    auto holder = std::make_unique<std::shared_ptr<MediaChunk>>(std::move(media));
    // The External owns the holder once it exists; until then the unique_ptr does.
    auto handle = Napi::External<std::shared_ptr<MediaChunk>>::New(env, holder.get(), [](Napi::Env, std::shared_ptr<MediaChunk> * h) { delete h; });
    holder.release();
    handle.TypeTag(&MEDIA_CHUNK_TAG);
    o.Set("chunk", handle);
    return o;
}

} // namespace

Napi::Value tokenizeMediaPrompt(Napi::Env env, const std::shared_ptr<mtmd_context> & encoder, int32_t maxThreads, const std::string & text,
                                const Napi::Array & items) {
    std::vector<mtmd::bitmap_ptr> bitmaps;
    for (uint32_t i = 0; i < items.Length(); i++) bitmaps.push_back(bitmapOf(env, items.Get(i), "a media item"));
    std::vector<const mtmd_bitmap *> view;
    for (const auto & b : bitmaps) view.push_back(b.get());
    mtmd_input_text input{text.c_str(), text.size(), false, true};
    mtmd::input_chunks_ptr chunks(mtmd_input_chunks_init());
    int32_t rc = mtmd_tokenize(encoder.get(), chunks.get(), &input, view.data(), view.size());
    bitmaps.clear(); // the chunks hold what they need of the pixels and samples
    if (rc != 0) {
        Napi::Error e = Napi::Error::New(env, rc == 1 ? "the prompt's media markers do not match the media given" : "the image or audio could not be preprocessed by the encoder");
        e.Value().Set("kind", rc == 1 ? "internal" : "user"); // a marker mismatch is autoglm's bug, a bad clip the request's
        throw e;
    }
    Napi::Array out = Napi::Array::New(env);
    for (size_t i = 0; i < mtmd_input_chunks_size(chunks.get()); i++) {
        const mtmd_input_chunk * c = mtmd_input_chunks_get(chunks.get(), i);
        if (mtmd_input_chunk_get_type(c) != MTMD_INPUT_CHUNK_TYPE_TEXT) {
            out.Set((uint32_t) i, mediaChunkObject(env, encoder, maxThreads, c));
            continue;
        }
        size_t n = 0;
        const llama_token * toks = mtmd_input_chunk_get_tokens_text(c, &n);
        Napi::Int32Array a = Napi::Int32Array::New(env, n);
        for (size_t j = 0; j < n; j++) a[j] = toks[j];
        Napi::Object o = Napi::Object::New(env);
        o.Set("type", "text");
        o.Set("tokens", a);
        out.Set((uint32_t) i, o);
    }
    return out;
}

PromptPiece promptPieceOf(Napi::Env env, const Napi::Value & v) {
    PromptPiece p;
    if (v.IsTypedArray()) {
        p.tokens = contract::tokens(env, v, "a prompt piece");
    } else if (v.IsExternal() && v.As<Napi::External<std::shared_ptr<MediaChunk>>>().CheckTypeTag(&MEDIA_CHUNK_TAG)) {
        p.media = *v.As<Napi::External<std::shared_ptr<MediaChunk>>>().Data();
    } else {
        throw Napi::TypeError::New(env, "native contract: a prompt piece must be an Int32Array of tokens or a media chunk");
    }
    return p;
}
