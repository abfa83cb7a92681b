#include "model-handle.h"
#include "AddonModel.h" // from node_modules/node-llama-cpp/llama/addon

llama_model * unwrapNodeLlamaCppModel(const Napi::Value & addonModel) {
    if (!addonModel.IsObject()) throw Napi::TypeError::New(addonModel.Env(), "expected node-llama-cpp's internal model object");
    AddonModel * m = Napi::ObjectWrap<AddonModel>::Unwrap(addonModel.As<Napi::Object>());
    if (m == nullptr || m->model == nullptr || m->disposed) throw Napi::Error::New(addonModel.Env(), "the model is not loaded or was disposed");
    return m->model;
}
