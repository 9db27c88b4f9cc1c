#include "session.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace {

double NowMs() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

// llama.cpp's log is process-wide and shared with node-llama-cpp: collect it while we load, then restore.
class ScopedLogCapture {
 public:
  explicit ScopedLogCapture(std::string& sink) : sink_(sink) {
    g_llama.llama_log_get(&previous_, &previousData_);
    g_llama.llama_log_set(&ScopedLogCapture::OnLog, this);
  }
  ~ScopedLogCapture() { g_llama.llama_log_set(previous_, previousData_); }

 private:
  static void OnLog(ggml_log_level, const char* text, void* self) {
    auto* capture = static_cast<ScopedLogCapture*>(self);
    std::lock_guard<std::mutex> lock(capture->mutex_);
    capture->sink_ += text;
  }
  std::string& sink_;
  std::mutex mutex_;
  ggml_log_callback previous_ = nullptr;
  void* previousData_ = nullptr;
};

bool IsBlank(const std::string& text) {
  return std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isspace(c) != 0; });
}

// llama.cpp's --cpu-moe pattern; with a layer list it is --n-cpu-moe.
const char* const kExpertTensors = "ffn_(up|down|gate|gate_up)_(ch|)exps";

}  // namespace

void LlamaDeleter::operator()(llama_model* model) const { g_llama.llama_model_free(model); }
void LlamaDeleter::operator()(llama_context* ctx) const { g_llama.llama_free(ctx); }
void LlamaDeleter::operator()(ggml_threadpool* pool) const { g_llama.ggml_threadpool_free(pool); }
void LlamaDeleter::operator()(llama_sampler* sampler) const { g_llama.llama_sampler_free(sampler); }

// The members free themselves in reverse order: the context before the thread pool and the model it uses.
Session::~Session() {
  if (batchReady_) g_llama.llama_batch_free(batch_);
}

std::string Session::Load(const LoadParams& params, std::string& log, const std::atomic<bool>* cancel) {
  ScopedLogCapture logCapture(log);

  auto modelParams = g_llama.llama_model_default_params();
  modelParams.n_gpu_layers = params.gpuLayers;
  if (!params.rpcServers.empty()) {
    const std::string error = RpcDevices(params.rpcBackend, params.rpcServers, rpcDevices_);
    if (!error.empty()) return error;
    for (const auto& d : rpcDevices_) devices_.push_back(d.dev);
    devices_.push_back(nullptr);
    modelParams.devices = devices_.data();
  }
  if (params.cpuMoeLayers > 0) {
    const int n = static_cast<int>(params.moeLayers.empty() ? 0 : params.moeLayers.back() + 1);
    if (params.cpuMoeLayers >= n) {
      overridePattern_ = std::string("\\.") + kExpertTensors;
    } else {
      std::string layers;
      for (int i = 0; i < params.cpuMoeLayers; i++) layers += (i ? "|" : "") + std::to_string(i);
      overridePattern_ = "blk\\.(" + layers + ")\\." + kExpertTensors;
    }
    // The pattern must outlive the load: overrides_ points into overridePattern_ (not modified after this).
    overrides_ = {{overridePattern_.c_str(), g_llama.ggml_backend_cpu_buffer_type()}, {nullptr, nullptr}};
    modelParams.tensor_buft_overrides = overrides_.data();
  }
  if (params.overrideExpertsPerToken) {
    // llama.cpp's --override-kv <arch>.expert_used_count=int:K (validated against the expert count in JS).
    llama_model_kv_override o{};
    o.tag = LLAMA_KV_OVERRIDE_TYPE_INT;
    std::snprintf(o.key, sizeof(o.key), "%s.expert_used_count", params.architecture.c_str());
    o.val_i64 = params.expertsPerToken;
    kvOverrides_ = {o, llama_model_kv_override{}};  // the empty key ends the list
    modelParams.kv_overrides = kvOverrides_.data();
  }
  modelParams.progress_callback = [](float, void* data) {
    return !static_cast<const std::atomic<bool>*>(data)->load();
  };
  modelParams.progress_callback_user_data = const_cast<std::atomic<bool>*>(cancel);

  model_.reset(g_llama.llama_model_load_from_file(params.path.c_str(), modelParams));
  if (!model_) return cancel->load() ? "cancelled" : "llama.cpp could not load the model";
  vocab_ = g_llama.llama_model_get_vocab(model_.get());
  recurrentMemory_ = g_llama.llama_model_is_recurrent(model_.get()) || g_llama.llama_model_is_hybrid(model_.get());
  swaWindow_ = std::max(0, static_cast<int>(g_llama.llama_model_n_swa(model_.get())));
  const char* allLogits = std::getenv("MOE_LENS_ALL_PROMPT_LOGITS");
  allPromptLogits_ = allLogits && std::string(allLogits) == "1";

  capture_.Configure(params.moeLayers, g_llama.llama_model_n_layer(model_.get()), params.expertsPerToken);

  auto ctxParams = g_llama.llama_context_default_params();
  ctxParams.n_ctx = params.contextSize;
  ctxParams.n_batch = params.batchSize;
  ctxParams.n_ubatch = params.batchSize;
  ctxParams.n_seq_max = 1;
  if (params.threads > 0) {
    ctxParams.n_threads = params.threads;
    ctxParams.n_threads_batch = params.threads;
  }
  ctxParams.no_perf = true;
  ctxParams.flash_attn_type = static_cast<llama_flash_attn_type>(params.flashAttention);
  if (params.f32KvCache) ctxParams.type_k = ctxParams.type_v = GGML_TYPE_F32;
  ctxParams.cb_eval = &RouterCapture::Callback;
  ctxParams.cb_eval_user_data = &capture_;
  ctx_.reset(g_llama.llama_init_from_model(model_.get(), ctxParams));
  if (!ctx_) return "llama.cpp could not create a context of " + std::to_string(params.contextSize) + " tokens";
  // A persistent CPU thread pool: without one, ggml starts and joins threads for every graph compute, and
  // router capture splits each decode into one compute per MoE layer.
  if (g_llama.ggml_threadpool_new && g_llama.ggml_threadpool_free) {
    auto poolParams = g_llama.ggml_threadpool_params_default(ctxParams.n_threads);
    threadpool_.reset(g_llama.ggml_threadpool_new(&poolParams));
    if (threadpool_) g_llama.llama_attach_threadpool(ctx_.get(), threadpool_.get(), threadpool_.get());
  }
  batchSize_ = static_cast<int>(g_llama.llama_n_batch(ctx_.get()));  // llama.cpp may clamp it to the context
  batch_ = g_llama.llama_batch_init(batchSize_, 0, 1);
  batchReady_ = true;
  g_llama.llama_set_abort_callback(
      ctx_.get(), [](void* data) { return static_cast<std::atomic<bool>*>(data)->load(); }, &abort);
  return "";
}

int Session::ContextSize() const { return ctx_ ? static_cast<int>(g_llama.llama_n_ctx(ctx_.get())) : 0; }
int Session::VocabSize() const { return vocab_ ? g_llama.llama_vocab_n_tokens(vocab_) : 0; }

std::vector<int32_t> Session::Tokenize(const std::string& text, bool addSpecial, bool parseSpecial) const {
  std::vector<int32_t> tokens(text.size() + 8);
  int n = g_llama.llama_tokenize(vocab_, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                                 static_cast<int32_t>(tokens.size()), addSpecial, parseSpecial);
  if (n < 0) {
    tokens.resize(-n);
    n = g_llama.llama_tokenize(vocab_, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                               static_cast<int32_t>(tokens.size()), addSpecial, parseSpecial);
  }
  tokens.resize(std::max(n, 0));
  return tokens;
}

std::string Session::Piece(int32_t token) const {
  char buf[256];
  int n = g_llama.llama_token_to_piece(vocab_, token, buf, sizeof(buf), 0, true);
  if (n >= 0) return std::string(buf, n);
  std::string big(-n, '\0');
  n = g_llama.llama_token_to_piece(vocab_, token, big.data(), static_cast<int32_t>(big.size()), 0, true);
  big.resize(std::max(n, 0));
  return big;
}

void Session::AppendToken(TokenChunk& chunk, int32_t token, bool capture, int row) {
  if (chunk.pieceOffsets.empty()) chunk.pieceOffsets.push_back(0);
  chunk.ids.push_back(token);
  chunk.pieceBytes += Piece(token);
  chunk.pieceOffsets.push_back(static_cast<int32_t>(chunk.pieceBytes.size()));
  if (!capture) return;
  const size_t width = static_cast<size_t>(capture_.MoeLayerCount()) * capture_.K();
  const size_t at = chunk.experts.size();
  chunk.experts.resize(at + width);
  chunk.weights.resize(at + width);
  capture_.CopyToken(row, chunk.experts.data() + at, chunk.weights.data() + at);
}

namespace {
// Sets the capture's intervention for the lifetime of one call.
struct ScopedIntervention {
  ScopedIntervention(RouterCapture& capture, const Intervention& intervention) : capture_(capture) {
    capture_.SetIntervention(&intervention);
  }
  ~ScopedIntervention() { capture_.SetIntervention(nullptr); }
  RouterCapture& capture_;
};
}  // namespace

GenerateResult Session::Generate(const GenerateParams& params, const std::function<void(TokenChunk&&)>& emit) {
  const std::vector<int32_t>& prompt = params.prompt;
  const SamplingParams& sampling = params.sampling;
  const bool captureWanted = params.capture;
  const double emitIntervalMs = params.emitIntervalMs;
  GenerateResult result;
  result.promptTokens = static_cast<int>(prompt.size());
  const double start = NowMs();
  const int nCtx = ContextSize();
  if (prompt.empty()) return result.errorCode = "empty-prompt", result.error = "the prompt is empty", result;
  if (static_cast<int>(prompt.size()) >= nCtx) {
    result.errorCode = "context-overflow";
    result.error = "the prompt has " + std::to_string(prompt.size()) +
                   " tokens but the context holds " + std::to_string(nCtx);
    return result;
  }
  // The grammar is parsed before any work, so a bad one costs no prompt evaluation.
  std::unique_ptr<llama_sampler, LlamaDeleter> grammar;
  if (!params.grammar.empty()) {
    grammar.reset(g_llama.llama_sampler_init_grammar(vocab_, params.grammar.c_str(), "root"));
    if (!grammar) return result.errorCode = "bad-grammar", result.error = "llama.cpp could not parse the output grammar", result;
  }
  const bool capture = captureWanted && capture_.MoeLayerCount() > 0;
  capture_.enabled = capture;
  capture_.expertNorms = false;
  result.routingCaptured = capture;
  ScopedIntervention scoped(capture_, params.intervention);

  // State computed under another intervention is never reused (the prefix cache is keyed on it).
  if (!params.reusePrefix || cachedIntervention_ != params.intervention.key) cached_.clear();
  cachedIntervention_ = params.intervention.key;
  const size_t common = ReusablePrefix(prompt);
  if (common == 0) g_llama.llama_memory_clear(g_llama.llama_get_memory(ctx_.get()), true);
  cached_.resize(common);

  double lastEmit = NowMs();
  auto flush = [&](TokenChunk& chunk, bool force) {
    if (chunk.Empty() || (!force && NowMs() - lastEmit < emitIntervalMs)) return;
    const bool generated = chunk.generated;
    const int next = chunk.firstIndex + static_cast<int>(chunk.ids.size());
    emit(std::move(chunk));
    chunk = TokenChunk();
    chunk.generated = generated;
    chunk.firstIndex = next;
    lastEmit = NowMs();
  };

  // Prompt, in batches. With capture on, every prompt token is an output: llama.cpp computes the last
  // layer only for output rows, and we want that layer's routing for every token. Nobody reads those rows'
  // logits, though: each compute stops after the last layer's routing (no lm_head row per token, which costs
  // as much as a third of the model's work with a 150k vocabulary), and the final prompt token is decoded
  // on its own, in full, for the logits of the first sampled token.
  TokenChunk chunk;
  chunk.firstIndex = static_cast<int>(common);
  const int batchSize = batchSize_;
  for (size_t i = common, n = 0; i < prompt.size(); i += n) {
    n = std::min<size_t>(batchSize, prompt.size() - i);
    bool cut = capture && !allPromptLogits_ && capture_.CanCut();
    if (cut && i + n == prompt.size()) {
      if (n > 1) n--;
      else cut = false;
    }
    capture_.cutAfterLastLayer = cut;
    int error = 0;
    const bool decoded = DecodeTokens(&prompt[i], static_cast<int>(n), static_cast<int>(i), capture, capture, error);
    capture_.cutAfterLastLayer = false;
    if (!decoded) {
      if (error == 2 || abort) result.stopReason = "aborted";
      else result.errorCode = "decode-failed", result.error = "llama_decode failed with status " + std::to_string(error);
      result.evaluatedPromptTokens = static_cast<int>(i - common);
      flush(chunk, true);
      return result;
    }
    for (size_t t = 0; t < n; t++) AppendToken(chunk, prompt[i + t], capture, static_cast<int>(t));
    flush(chunk, false);
  }
  flush(chunk, true);
  result.evaluatedPromptTokens = static_cast<int>(prompt.size() - common);
  g_llama.llama_synchronize(ctx_.get());  // llama_decode returns before a GPU has finished
  const double promptEnd = NowMs();
  result.promptMs = promptEnd - start;

  std::unique_ptr<llama_sampler, LlamaDeleter> owner(g_llama.llama_sampler_chain_init(g_llama.llama_sampler_chain_default_params()));
  llama_sampler* sampler = owner.get();
  // First in the chain: the other samplers pick among the tokens the grammar allows (the chain owns it now).
  if (grammar) g_llama.llama_sampler_chain_add(sampler, grammar.release());
  if (sampling.repeatPenalty != 1.0f && sampling.repeatLastN != 0)
    g_llama.llama_sampler_chain_add(sampler, g_llama.llama_sampler_init_penalties(VocabSize(), sampling.repeatLastN, sampling.repeatPenalty, 0.0f, 0.0f));
  if (sampling.temperature <= 0.0f) {
    g_llama.llama_sampler_chain_add(sampler, g_llama.llama_sampler_init_greedy());
  } else {
    if (sampling.topK > 0) g_llama.llama_sampler_chain_add(sampler, g_llama.llama_sampler_init_top_k(sampling.topK));
    if (sampling.topP < 1.0f) g_llama.llama_sampler_chain_add(sampler, g_llama.llama_sampler_init_top_p(sampling.topP, 1));
    if (sampling.minP > 0.0f) g_llama.llama_sampler_chain_add(sampler, g_llama.llama_sampler_init_min_p(sampling.minP, 1));
    g_llama.llama_sampler_chain_add(sampler, g_llama.llama_sampler_init_temp(sampling.temperature));
    g_llama.llama_sampler_chain_add(sampler, g_llama.llama_sampler_init_dist(sampling.seed));
  }

  // Stop strings may span token pieces: keep the last maxStop-1 generated bytes before each new piece.
  size_t maxStop = 0;
  for (const auto& s : sampling.stop) maxStop = std::max(maxStop, s.size());
  std::string tail;
  bool answerHasText = false;  // some non-whitespace byte generated
  chunk = TokenChunk();
  chunk.generated = true;
  chunk.firstIndex = static_cast<int>(prompt.size());
  result.stopReason = "max-tokens";
  while (result.generatedTokens < sampling.maxTokens) {
    if (abort) { result.stopReason = "aborted"; break; }
    const int32_t token = g_llama.llama_sampler_sample(sampler, ctx_.get(), -1);
    if (result.generatedTokens == 0) result.firstTokenMs = NowMs() - start;
    // llama_sampler_sample has accepted the token (a second accept would feed a grammar the token twice).
    if (g_llama.llama_vocab_is_eog(vocab_, token)) { result.stopReason = "eos"; break; }
    if (static_cast<int>(cached_.size()) >= nCtx) { result.stopReason = "context-full"; break; }
    // Decode the sampled token now: its routing belongs to this step (and its logits give the next one).
    int error = 0;
    if (!DecodeTokens(&token, 1, static_cast<int>(cached_.size()), true, capture, error)) {
      if (error == 2 || abort) result.stopReason = "aborted";
      else if (error == 1) result.stopReason = "context-full";
      else result.errorCode = "decode-failed", result.error = "llama_decode failed with status " + std::to_string(error);
      break;
    }
    AppendToken(chunk, token, capture, 0);
    result.generatedTokens++;
    if (maxStop > 0) {  // some non-empty stop string
      if (tail.size() >= maxStop) tail.erase(0, tail.size() - (maxStop - 1));
      const size_t before = tail.size();
      const size_t off = static_cast<size_t>(chunk.pieceOffsets[chunk.ids.size() - 1]);
      tail.append(chunk.pieceBytes, off, chunk.pieceBytes.size() - off);
      bool stopped = false;
      for (const auto& s : sampling.stop) {
        // A whitespace-only stop ("\n\n": the end of a paragraph) ends an answer only after it has some text: an
        // answer that opens with blank lines is not over yet.
        if (!answerHasText && IsBlank(s)) continue;
        // Only matches that end in the new piece: earlier ones were checked on earlier tokens.
        const size_t from = before >= s.size() ? before - s.size() + 1 : 0;
        if (!s.empty() && tail.find(s, from) != std::string::npos) { stopped = true; break; }
      }
      if (stopped) { result.stopReason = "stop-string"; break; }
      if (!answerHasText) answerHasText = !IsBlank(tail.substr(before));
    }
    flush(chunk, false);
  }
  flush(chunk, true);
  result.generateMs = NowMs() - promptEnd;
  return result;
}

size_t Session::ReusablePrefix(const std::vector<int32_t>& prompt) {
  llama_memory_t memory = g_llama.llama_get_memory(ctx_.get());
  // The memory must hold exactly the positions of cached_. A failed or aborted decode leaves recurrent state
  // (and, in hybrid memory, the attention cells beside it) of the half-evaluated batch behind, because
  // llama.cpp cannot remove it again: such memory is cleared, never continued.
  if (g_llama.llama_memory_seq_pos_max(memory, 0) != static_cast<llama_pos>(cached_.size()) - 1) return 0;
  size_t common = 0;
  while (common < cached_.size() && common < prompt.size() && cached_[common] == prompt[common]) common++;
  // Always decode at least the last prompt token: its logits give the first sampled token.
  if (common == prompt.size()) common--;
  if (common == 0) return 0;
  const bool dropsSuffix = common < cached_.size();
  if (!dropsSuffix) return common;  // the prompt extends the evaluated sequence: every memory keeps all of it
  // Recurrent state (and the recurrent half of hybrid memory) exists for the last evaluated position only:
  // llama.cpp cannot roll it back to an earlier one (without per-token snapshots, which we do not keep).
  if (recurrentMemory_) return 0;
  if (!g_llama.llama_memory_seq_rm(memory, 0, static_cast<llama_pos>(common), -1)) return 0;
  // A sliding-window cache smaller than the context (swa_full off; llama.cpp's default context has it on)
  // overwrites positions older than its window: the kept prefix is usable only if it still holds every position
  // the next token attends to.
  if (swaWindow_ > 0) {
    const llama_pos first = g_llama.llama_memory_seq_pos_min(memory, 0);
    if (first < 0 || first > std::max(0, static_cast<int>(common) - swaWindow_)) return 0;
  }
  return common;
}

bool Session::DecodeTokens(const int32_t* tokens, int n, int firstPos, bool allOutputs, bool capture, int& error) {
  llama_batch& batch = batch_;
  for (int t = 0; t < n; t++) {
    batch.token[t] = tokens[t];
    batch.pos[t] = firstPos + t;
    batch.n_seq_id[t] = 1;
    batch.seq_id[t][0] = 0;
    batch.logits[t] = allOutputs || t == n - 1;
  }
  batch.n_tokens = n;
  if (capture) capture_.BeginDecode(n);
  error = g_llama.llama_decode(ctx_.get(), batch);
  if (capture) capture_.EndDecode();
  if (error != 0) return false;
  cached_.insert(cached_.end(), tokens, tokens + n);
  return true;
}

EvaluateResult Session::Evaluate(const EvaluateParams& params) {
  EvaluateResult result;
  const std::vector<int32_t>& tokens = params.tokens;
  const int n = static_cast<int>(tokens.size());
  const double start = NowMs();
  if (n < 2 || params.firstOutput < 0 || params.firstOutput > n - 2) {
    result.errorCode = "empty-prompt";
    result.error = "nothing to score: " + std::to_string(n) + " tokens, first scored position " + std::to_string(params.firstOutput);
    return result;
  }
  if (n > ContextSize()) {
    result.errorCode = "context-overflow";
    result.error = "the chunk has " + std::to_string(n) + " tokens but the context holds " + std::to_string(ContextSize());
    return result;
  }
  const bool capture = params.capture && capture_.MoeLayerCount() > 0;
  capture_.enabled = capture;
  capture_.expertNorms = capture && params.expertNorms;
  ScopedIntervention scoped(capture_, params.intervention);
  // Each evaluation starts afresh, as llama-perplexity's chunks do; the prefix cache is gone. What this one leaves
  // in the memory is never reused: with cached_ empty, the next Generate's ReusablePrefix clears it.
  g_llama.llama_memory_clear(g_llama.llama_get_memory(ctx_.get()), true);
  cached_.clear();

  const int nVocab = VocabSize();
  const size_t width = static_cast<size_t>(capture_.MoeLayerCount()) * capture_.K();
  if (capture) {
    result.experts.resize(width * n);
    result.weights.resize(width * n);
    if (capture_.expertNorms) result.norms.resize(width * n);
  }
  result.logprobs.reserve(n - 1 - params.firstOutput);
  for (int i = 0; i < n; i += batchSize_) {
    const int count = std::min(batchSize_, n - i);
    llama_batch& batch = batch_;
    for (int t = 0; t < count; t++) {
      const int pos = i + t;
      batch.token[t] = tokens[pos];
      batch.pos[t] = pos;
      batch.n_seq_id[t] = 1;
      batch.seq_id[t][0] = 0;
      // Capture needs every row as an output (llama.cpp computes the last layer only for output rows).
      batch.logits[t] = capture || (pos >= params.firstOutput && pos < n - 1);
    }
    batch.n_tokens = count;
    if (capture) capture_.BeginDecode(count);
    const int error = g_llama.llama_decode(ctx_.get(), batch);
    if (capture) capture_.EndDecode();
    if (error != 0) {
      if (error == 2 || abort) result.aborted = true;
      else result.errorCode = "decode-failed", result.error = "llama_decode failed with status " + std::to_string(error);
      return result;
    }
    for (int t = 0; t < count; t++) {
      const int pos = i + t;
      if (capture) {
        capture_.CopyToken(t, result.experts.data() + width * pos, result.weights.data() + width * pos,
                           capture_.expertNorms ? result.norms.data() + width * pos : nullptr);
      }
      if (pos < params.firstOutput || pos >= n - 1) continue;
      // log softmax of the next token, in double, as llama-perplexity's log_softmax.
      const float* logits = g_llama.llama_get_logits_ith(ctx_.get(), t);
      float max = logits[0];
      for (int v = 1; v < nVocab; v++) max = std::max(max, logits[v]);
      double sum = 0;
      for (int v = 0; v < nVocab; v++) sum += std::exp(static_cast<double>(logits[v] - max));
      result.logprobs.push_back(static_cast<double>(logits[tokens[pos + 1]] - max) - std::log(sum));
    }
  }
  result.ms = NowMs() - start;
  return result;
}

RouteResult Session::Route(const RouteParams& params) {
  RouteResult result;
  const double start = NowMs();
  size_t total = 0;
  size_t reported = 0;
  for (const int32_t length : params.lengths) {
    if (length <= params.skip || length > ContextSize()) {
      result.errorCode = length > ContextSize() ? "context-overflow" : "empty-prompt";
      result.error = "a sequence of " + std::to_string(length) + " tokens: the context holds " + std::to_string(ContextSize()) +
                     ", and " + std::to_string(params.skip) + " leading tokens are not reported";
      return result;
    }
    total += length;
    reported += length - params.skip;
  }
  if (total != params.tokens.size()) {
    result.errorCode = "empty-prompt";
    result.error = "the sequence lengths do not add up to the tokens given";
    return result;
  }
  const bool capture = params.capture && capture_.MoeLayerCount() > 0;
  capture_.enabled = capture;
  capture_.expertNorms = false;
  ScopedIntervention scoped(capture_, params.intervention);
  const size_t width = static_cast<size_t>(capture_.MoeLayerCount()) * capture_.K();
  if (capture) {
    result.experts.resize(width * reported);
    result.weights.resize(width * reported);
  }
  result.pieceOffsets.reserve(reported + 1);
  result.pieceOffsets.push_back(0);
  llama_memory_t memory = g_llama.llama_get_memory(ctx_.get());
  const int32_t* tokens = params.tokens.data();
  size_t row = 0;
  for (const int32_t length : params.lengths) {
    // Each sequence alone, from an empty memory; what the last one leaves is never reused (cached_ ends empty).
    g_llama.llama_memory_clear(memory, true);
    cached_.clear();
    for (int i = 0; i < length; i += batchSize_) {
      const int count = std::min(batchSize_, length - i);
      // With capture every row is an output (llama.cpp computes the last layer only for output rows), and nobody
      // reads the logits: the compute stops after the last MoE layer's routing (where the model allows it).
      capture_.cutAfterLastLayer = capture;
      int error = 0;
      const bool decoded = DecodeTokens(tokens + i, count, i, capture, capture, error);
      capture_.cutAfterLastLayer = false;
      if (!decoded) {
        cached_.clear();
        if (error == 2 || abort) result.aborted = true;
        else result.errorCode = "decode-failed", result.error = "llama_decode failed with status " + std::to_string(error);
        return result;
      }
      for (int t = std::max(0, params.skip - i); t < count; t++, row++) {
        if (capture) capture_.CopyToken(t, result.experts.data() + width * row, result.weights.data() + width * row);
        result.pieceBytes += Piece(tokens[i + t]);
        result.pieceOffsets.push_back(static_cast<int32_t>(result.pieceBytes.size()));
      }
    }
    tokens += length;
    if (abort) {
      result.aborted = true;
      break;
    }
  }
  cached_.clear();
  g_llama.llama_synchronize(ctx_.get());
  result.ms = NowMs() - start;
  return result;
}
