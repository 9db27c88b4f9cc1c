// N-API surface of the MoE Lens addon: `init(release)` resolves llama.cpp from the library node-llama-cpp
// loaded; `NativeSession` loads a model with MoE offload and generates on a worker thread, streaming
// token chunks with routing. Arrays handed to JavaScript are V8-owned copies (Electron forbids external
// buffers).
#include <napi.h>

#include <memory>
#include <utility>

#include "session.h"

namespace {

template <typename T, typename Array>
Array CopyToTyped(Napi::Env env, const std::vector<T>& values) {
  auto buffer = Napi::ArrayBuffer::New(env, values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(buffer.Data(), values.data(), values.size() * sizeof(T));
  return Array::New(env, values.size(), buffer, 0);
}

Napi::Uint8Array BytesToJs(Napi::Env env, const std::string& bytes) {
  auto buffer = Napi::ArrayBuffer::New(env, bytes.size());
  if (!bytes.empty()) std::memcpy(buffer.Data(), bytes.data(), bytes.size());
  return Napi::Uint8Array::New(env, bytes.size(), buffer, 0);
}

// What an evaluation's result says besides its arrays (EvaluateResult, RouteResult).
template <typename Result>
Napi::Object OutcomeToJs(Napi::Env env, const Result& result) {
  auto out = Napi::Object::New(env);
  out.Set("error", result.error);
  out.Set("errorCode", result.errorCode);
  out.Set("aborted", result.aborted);
  out.Set("ms", result.ms);
  return out;
}

Napi::Object ChunkToJs(Napi::Env env, const TokenChunk& chunk) {
  auto out = Napi::Object::New(env);
  out.Set("generated", chunk.generated);
  out.Set("firstIndex", chunk.firstIndex);
  out.Set("ids", CopyToTyped<int32_t, Napi::Int32Array>(env, chunk.ids));
  out.Set("pieceBytes", BytesToJs(env, chunk.pieceBytes));
  out.Set("pieceOffsets", CopyToTyped<int32_t, Napi::Int32Array>(env, chunk.pieceOffsets));
  out.Set("experts", CopyToTyped<uint16_t, Napi::Uint16Array>(env, chunk.experts));
  out.Set("weights", CopyToTyped<float, Napi::Float32Array>(env, chunk.weights));
  return out;
}

Napi::Array RpcDevicesToJs(Napi::Env env, const std::vector<RpcDevice>& rpc) {
  auto devices = Napi::Array::New(env, rpc.size());
  for (size_t i = 0; i < rpc.size(); i++) {
    auto d = Napi::Object::New(env);
    d.Set("name", rpc[i].name);
    d.Set("endpoint", rpc[i].endpoint);
    d.Set("freeBytes", static_cast<double>(rpc[i].free));
    d.Set("totalBytes", static_cast<double>(rpc[i].total));
    devices.Set(static_cast<uint32_t>(i), d);
  }
  return devices;
}

std::vector<std::string> StringsOf(const Napi::Array& array) {
  std::vector<std::string> out;
  for (uint32_t i = 0; i < array.Length(); i++) out.push_back(array.Get(i).As<Napi::String>());
  return out;
}

// A worker on one session that settles a promise: rejected with the worker's error, resolved by the subclass's
// OnOK through Resolve. It holds the session (a dispose during work frees the model when the work ends) and the
// session's `busy` flag, released when the promise settles, on the JavaScript thread.
template <typename Base>
class SessionWorker : public Base {
 public:
  template <typename... Args>
  SessionWorker(Napi::Env env, std::shared_ptr<Session> session, Args&&... args)
      : Base(std::forward<Args>(args)...), deferred_(Napi::Promise::Deferred::New(env)), session_(std::move(session)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void OnError(const Napi::Error& e) override {
    session_->busy = false;
    deferred_.Reject(e.Value());
  }

 protected:
  void Resolve(Napi::Value value) {
    session_->busy = false;
    deferred_.Resolve(value);
  }
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<Session> session_;
};

class LoadWorker : public SessionWorker<Napi::AsyncWorker> {
 public:
  LoadWorker(Napi::Env env, std::shared_ptr<Session> session, LoadParams params, std::shared_ptr<std::atomic<bool>> cancel)
      : SessionWorker(env, std::move(session), env), params_(std::move(params)), cancel_(std::move(cancel)) {}

  void Execute() override { error_ = session_->Load(params_, log_, cancel_.get()); }
  void OnOK() override {
    auto result = Napi::Object::New(Env());
    result.Set("error", error_);
    result.Set("log", log_);
    result.Set("contextSize", session_->ContextSize());
    result.Set("rpcDevices", RpcDevicesToJs(Env(), session_->RpcDeviceList()));
    Resolve(result);
  }

 private:
  LoadParams params_;
  // Shared with the JavaScript wrapper: either may outlive the other (a wrapper collected mid-load).
  std::shared_ptr<std::atomic<bool>> cancel_;
  std::string error_, log_;
};

class GenerateWorker : public SessionWorker<Napi::AsyncProgressQueueWorker<TokenChunk>> {
 public:
  GenerateWorker(Napi::Function onChunk, std::shared_ptr<Session> session, GenerateParams params)
      : SessionWorker(onChunk.Env(), std::move(session), onChunk), params_(std::move(params)) {}

  void Execute(const ExecutionProgress& progress) override {
    result_ = session_->Generate(params_, [&](TokenChunk&& chunk) { progress.Send(&chunk, 1); });
  }
  void OnProgress(const TokenChunk* chunks, size_t count) override {
    Napi::HandleScope scope(Env());
    for (size_t i = 0; i < count; i++) Callback().Call({ChunkToJs(Env(), chunks[i])});
  }
  void OnOK() override {
    auto env = Env();
    auto out = Napi::Object::New(env);
    out.Set("error", result_.error);
    out.Set("errorCode", result_.errorCode);
    out.Set("stopReason", result_.stopReason);
    out.Set("promptTokens", result_.promptTokens);
    out.Set("evaluatedPromptTokens", result_.evaluatedPromptTokens);
    out.Set("generatedTokens", result_.generatedTokens);
    out.Set("promptMs", result_.promptMs);
    out.Set("generateMs", result_.generateMs);
    out.Set("firstTokenMs", result_.firstTokenMs);
    out.Set("routingCaptured", result_.routingCaptured);
    Resolve(out);
  }

 private:
  GenerateParams params_;
  GenerateResult result_;
};

class EvaluateWorker : public SessionWorker<Napi::AsyncWorker> {
 public:
  EvaluateWorker(Napi::Env env, std::shared_ptr<Session> session, EvaluateParams params)
      : SessionWorker(env, std::move(session), env), params_(std::move(params)) {}

  void Execute() override { result_ = session_->Evaluate(params_); }
  void OnOK() override {
    auto env = Env();
    auto out = OutcomeToJs(env, result_);
    out.Set("logprobs", CopyToTyped<double, Napi::Float64Array>(env, result_.logprobs));
    out.Set("experts", CopyToTyped<uint16_t, Napi::Uint16Array>(env, result_.experts));
    out.Set("weights", CopyToTyped<float, Napi::Float32Array>(env, result_.weights));
    out.Set("norms", CopyToTyped<float, Napi::Float32Array>(env, result_.norms));
    Resolve(out);
  }

 private:
  EvaluateParams params_;
  EvaluateResult result_;
};

int IntOr(const Napi::Object& o, const char* key, int fallback) {
  return o.Has(key) && o.Get(key).IsNumber() ? o.Get(key).As<Napi::Number>().Int32Value() : fallback;
}
double DoubleOr(const Napi::Object& o, const char* key, double fallback) {
  return o.Has(key) && o.Get(key).IsNumber() ? o.Get(key).As<Napi::Number>().DoubleValue() : fallback;
}
bool BoolOr(const Napi::Object& o, const char* key, bool fallback) {
  return o.Has(key) && !o.Get(key).IsUndefined() ? o.Get(key).ToBoolean().Value() : fallback;
}

std::vector<int32_t> TokensOf(const Napi::Object& o) {
  auto tokens = o.Get("tokens").As<Napi::Int32Array>();
  return std::vector<int32_t>(tokens.Data(), tokens.Data() + tokens.ElementLength());
}

// The sampling JavaScript passes, whole: its defaults are extension/engine/sampling.ts's, not written here.
double SamplingNumber(const Napi::Object& o, const char* key) {
  if (!o.Has(key) || !o.Get(key).IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("sampling.") + key + " must be a number");
  return o.Get(key).As<Napi::Number>().DoubleValue();
}

SamplingParams SamplingOf(const Napi::Object& o) {
  SamplingParams s;
  s.temperature = static_cast<float>(SamplingNumber(o, "temperature"));
  s.topK = static_cast<int>(SamplingNumber(o, "topK"));
  s.topP = static_cast<float>(SamplingNumber(o, "topP"));
  s.minP = static_cast<float>(SamplingNumber(o, "minP"));
  s.repeatPenalty = static_cast<float>(SamplingNumber(o, "repeatPenalty"));
  s.repeatLastN = static_cast<int>(SamplingNumber(o, "repeatLastN"));
  s.seed = static_cast<uint32_t>(SamplingNumber(o, "seed"));
  s.maxTokens = static_cast<int>(SamplingNumber(o, "maxTokens"));
  if (o.Has("stop")) {
    auto stop = o.Get("stop").As<Napi::Array>();
    for (uint32_t i = 0; i < stop.Length(); i++) s.stop.push_back(stop.Get(i).As<Napi::String>());
  }
  return s;
}

class RouteWorker : public SessionWorker<Napi::AsyncWorker> {
 public:
  RouteWorker(Napi::Env env, std::shared_ptr<Session> session, RouteParams params)
      : SessionWorker(env, std::move(session), env), params_(std::move(params)) {}

  void Execute() override { result_ = session_->Route(params_); }
  void OnOK() override {
    auto env = Env();
    auto out = OutcomeToJs(env, result_);
    out.Set("experts", CopyToTyped<uint16_t, Napi::Uint16Array>(env, result_.experts));
    out.Set("weights", CopyToTyped<float, Napi::Float32Array>(env, result_.weights));
    out.Set("pieceBytes", BytesToJs(env, result_.pieceBytes));
    out.Set("pieceOffsets", CopyToTyped<int32_t, Napi::Int32Array>(env, result_.pieceOffsets));
    Resolve(out);
  }

 private:
  RouteParams params_;
  RouteResult result_;
};

// { key, layers: [{ slot, force, masked: number[] }] } as extension/engine/intervention.ts's toNative writes it.
Intervention InterventionOf(const Napi::Object& o) {
  Intervention out;
  if (!o.Has("intervention") || !o.Get("intervention").IsObject()) return out;
  auto i = o.Get("intervention").As<Napi::Object>();
  out.key = i.Get("key").As<Napi::String>();
  auto layers = i.Get("layers").As<Napi::Array>();
  for (uint32_t l = 0; l < layers.Length(); l++) {
    auto layer = layers.Get(l).As<Napi::Object>();
    Intervention::Layer entry;
    entry.slot = IntOr(layer, "slot", -1);
    entry.force = BoolOr(layer, "force", false);
    auto masked = layer.Get("masked").As<Napi::Array>();
    for (uint32_t e = 0; e < masked.Length(); e++) entry.masked.push_back(masked.Get(e).As<Napi::Number>().Int32Value());
    if (entry.slot >= 0 && !entry.masked.empty()) out.layers.push_back(std::move(entry));
  }
  return out;
}

class NativeSession : public Napi::ObjectWrap<NativeSession> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeSession",
                       {InstanceMethod("load", &NativeSession::Load), InstanceMethod("cancelLoad", &NativeSession::CancelLoad),
                        InstanceMethod("tokenize", &NativeSession::Tokenize), InstanceMethod("piece", &NativeSession::Piece),
                        InstanceMethod("generate", &NativeSession::Generate), InstanceMethod("evaluate", &NativeSession::Evaluate),
                        InstanceMethod("route", &NativeSession::Route),
                        InstanceMethod("abort", &NativeSession::Abort),
                        InstanceMethod("dispose", &NativeSession::Dispose)});
  }
  explicit NativeSession(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeSession>(info) {}

 private:
  Session& Live(Napi::Env env) {
    if (!session_) throw Napi::Error::New(env, "the model is not loaded");
    return *session_;
  }

  // One computation at a time on a context: a second one is refused here, before it reaches llama.cpp.
  void Claim(Napi::Env env) {
    if (Live(env).busy.exchange(true))
      throw Napi::Error::New(env, "busy: a computation is already running on this model");
  }

  Napi::Value Load(const Napi::CallbackInfo& info) {
    auto o = info[0].As<Napi::Object>();
    LoadParams p;
    p.path = o.Get("path").As<Napi::String>();
    p.gpuLayers = IntOr(o, "gpuLayers", -1);
    p.cpuMoeLayers = IntOr(o, "cpuMoeLayers", 0);
    p.contextSize = IntOr(o, "contextSize", 0);
    p.batchSize = IntOr(o, "batchSize", 512);
    p.threads = IntOr(o, "threads", 0);
    p.flashAttention = IntOr(o, "flashAttention", -1);
    p.f32KvCache = o.Has("f32KvCache") && o.Get("f32KvCache").ToBoolean();
    p.expertsPerToken = IntOr(o, "expertsPerToken", 0);
    p.overrideExpertsPerToken = BoolOr(o, "overrideExpertsPerToken", false);
    if (o.Has("architecture")) p.architecture = o.Get("architecture").As<Napi::String>();
    auto layers = o.Get("moeLayers").As<Napi::Array>();
    for (uint32_t i = 0; i < layers.Length(); i++) p.moeLayers.push_back(layers.Get(i).As<Napi::Number>().Int32Value());
    if (o.Has("rpcServers") && o.Get("rpcServers").IsArray()) {
      p.rpcServers = StringsOf(o.Get("rpcServers").As<Napi::Array>());
      p.rpcBackend = o.Get("rpcBackend").As<Napi::String>();
    }
    session_ = std::make_shared<Session>();
    session_->busy = true;
    cancelLoad_ = std::make_shared<std::atomic<bool>>(false);
    auto* worker = new LoadWorker(info.Env(), session_, std::move(p), cancelLoad_);
    worker->Queue();
    return worker->Promise();
  }

  Napi::Value CancelLoad(const Napi::CallbackInfo& info) {
    *cancelLoad_ = true;
    return info.Env().Undefined();
  }

  Napi::Value Tokenize(const Napi::CallbackInfo& info) {
    std::string text = info[0].As<Napi::String>();
    const bool addSpecial = info[1].ToBoolean();
    const bool parseSpecial = info[2].ToBoolean();
    return CopyToTyped<int32_t, Napi::Int32Array>(info.Env(), Live(info.Env()).Tokenize(text, addSpecial, parseSpecial));
  }

  Napi::Value Piece(const Napi::CallbackInfo& info) {
    const std::string piece = Live(info.Env()).Piece(info[0].As<Napi::Number>().Int32Value());
    return Napi::Buffer<char>::Copy(info.Env(), piece.data(), piece.size());
  }

  // generate({tokens, sampling, grammar?, capture, reusePrefix, emitIntervalMs, intervention?}, onChunk)
  Napi::Value Generate(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    Live(env);
    auto o = info[0].As<Napi::Object>();
    GenerateParams p;
    p.prompt = TokensOf(o);
    p.sampling = SamplingOf(o.Get("sampling").As<Napi::Object>());
    if (o.Has("grammar") && o.Get("grammar").IsString()) p.grammar = o.Get("grammar").As<Napi::String>().Utf8Value();
    p.capture = BoolOr(o, "capture", p.capture);
    p.reusePrefix = BoolOr(o, "reusePrefix", p.reusePrefix);
    p.emitIntervalMs = DoubleOr(o, "emitIntervalMs", p.emitIntervalMs);
    p.intervention = InterventionOf(o);
    Claim(env);
    auto* worker = new GenerateWorker(info[1].As<Napi::Function>(), session_, std::move(p));
    // Cleared here, on the JS thread, before the work is queued: an abort() that comes before the worker starts
    // (cleared on the worker it was lost, and the answer ran to its token limit) stops this generation.
    session_->abort = false;
    worker->Queue();
    return worker->Promise();
  }

  // evaluate({tokens, firstOutput, capture, expertNorms, intervention?})
  Napi::Value Evaluate(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    Live(env);
    auto o = info[0].As<Napi::Object>();
    EvaluateParams p;
    p.tokens = TokensOf(o);
    p.firstOutput = IntOr(o, "firstOutput", p.firstOutput);
    p.capture = BoolOr(o, "capture", p.capture);
    p.expertNorms = BoolOr(o, "expertNorms", p.expertNorms);
    p.intervention = InterventionOf(o);
    Claim(env);
    auto* worker = new EvaluateWorker(env, session_, std::move(p));
    session_->abort = false;
    worker->Queue();
    return worker->Promise();
  }

  // route({tokens, lengths, skip, capture, intervention?})
  Napi::Value Route(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    Live(env);
    auto o = info[0].As<Napi::Object>();
    RouteParams p;
    p.tokens = TokensOf(o);
    auto lengths = o.Get("lengths").As<Napi::Int32Array>();
    p.lengths.assign(lengths.Data(), lengths.Data() + lengths.ElementLength());
    p.skip = IntOr(o, "skip", p.skip);
    p.capture = BoolOr(o, "capture", p.capture);
    p.intervention = InterventionOf(o);
    Claim(env);
    auto* worker = new RouteWorker(env, session_, std::move(p));
    session_->abort = false;
    worker->Queue();
    return worker->Promise();
  }

  Napi::Value Abort(const Napi::CallbackInfo& info) {
    if (session_) session_->abort = true;
    return info.Env().Undefined();
  }

  // Workers hold their own reference (SessionWorker), so a dispose during work frees the model when the work ends.
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    if (session_) session_->abort = true;
    session_.reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<Session> session_;
  std::shared_ptr<std::atomic<bool>> cancelLoad_ = std::make_shared<std::atomic<bool>>(false);
};

Napi::Value Init(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const std::string release = info[0].As<Napi::String>();
  const std::string error = LoadLlamaApi(release, g_llama);
  if (!error.empty()) throw Napi::Error::New(env, error);
  return env.Undefined();
}

// rpcDevices(backendPath, ["host:port", …]): every device of those RPC servers with its memory (a blocking round
// trip to each server, which JavaScript has checked is reachable: ggml-rpc aborts the process on one that is not).
Napi::Value RpcDevicesJs(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  std::vector<RpcDevice> devices;
  const std::string error = RpcDevices(info[0].As<Napi::String>(), StringsOf(info[1].As<Napi::Array>()), devices);
  if (!error.empty()) throw Napi::Error::New(env, error);
  return RpcDevicesToJs(env, devices);
}

Napi::Object Main(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("NativeSession", NativeSession::Define(env));
  exports.Set("rpcDevices", Napi::Function::New(env, RpcDevicesJs));
  exports.Set("builtForRelease", Napi::String::New(env, MOE_LENS_LLAMA_RELEASE));
  return exports;
}

}  // namespace

NODE_API_MODULE(moe_lens, Main)
