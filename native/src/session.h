// A loaded model and its context: load with MoE offload, decode and sample, router capture.
// Everything here runs on a worker thread; addon.cpp moves results to JavaScript.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "llama_api.h"
#include "router_capture.h"
#include "rpc_devices.h"

struct LoadParams {
  std::string path;
  int gpuLayers = -1;       // llama.cpp's n_gpu_layers (-1 = all)
  int cpuMoeLayers = 0;     // leading layers whose experts stay in system RAM (>= n_layer = all)
  int contextSize = 0;      // 0 = model's training context
  int batchSize = 512;
  int threads = 0;          // 0 = llama.cpp's default
  int flashAttention = -1;
  bool f32KvCache = false;  // default: llama.cpp's f16 KV cache  // llama_flash_attn_type: -1 auto, 0 off, 1 on
  std::vector<int> moeLayers;
  int expertsPerToken = 0;          // k the capture reads (the model's, or the override below)
  std::string architecture;         // GGUF general.architecture, for the override's key
  bool overrideExpertsPerToken = false;  // load with `<arch>.expert_used_count` = expertsPerToken
  std::vector<std::string> rpcServers;  // host:port of each RPC server: the model's devices (none: llama.cpp's own)
  std::string rpcBackend;               // the RPC backend library to load for them
};

// Set whole from JavaScript (addon.cpp SamplingOf); the defaults are extension/engine/sampling.ts's.
struct SamplingParams {
  float temperature = 0;
  int topK = 0;
  float topP = 0;
  float minP = 0;
  float repeatPenalty = 0;
  int repeatLastN = 0;
  uint32_t seed = 0;
  int maxTokens = 0;
  std::vector<std::string> stop;
};

// One generation's parameters, passed as one object from JavaScript.
struct GenerateParams {
  std::vector<int32_t> prompt;
  SamplingParams sampling;
  std::string grammar;  // GBNF (root rule "root") the output must match; empty: unconstrained
  bool capture = true;
  bool reusePrefix = true;
  double emitIntervalMs = 30;
  Intervention intervention;
};

// One evaluation of a token sequence from an empty context (perplexity chunks, importance).
struct EvaluateParams {
  std::vector<int32_t> tokens;
  int firstOutput = 0;  // log-probabilities of tokens[i + 1] for i in [firstOutput, n - 1)
  bool capture = false;
  bool expertNorms = false;
  Intervention intervention;
};

struct EvaluateResult {
  std::vector<double> logprobs;  // n - 1 - firstOutput values
  std::vector<uint16_t> experts; // [token][moeLayer][k] with capture
  std::vector<float> weights;
  std::vector<float> norms;      // with expertNorms
  double ms = 0;
  bool aborted = false;
  std::string error;
  std::string errorCode;
};

// Several token sequences, each evaluated alone from an empty context for its routing only (the routing atlas):
// no logits are computed (each compute stops after the last MoE layer's routing where the model allows it).
struct RouteParams {
  std::vector<int32_t> tokens;   // the sequences, concatenated
  std::vector<int32_t> lengths;  // tokens of each sequence
  int skip = 0;                  // leading tokens of each sequence evaluated but not reported (the BOS)
  bool capture = true;           // false: the same evaluation without capture (a benchmark's baseline)
  Intervention intervention;
};

struct RouteResult {
  std::vector<uint16_t> experts;      // [reported token][moeLayer][k], with capture
  std::vector<float> weights;
  std::string pieceBytes;             // the reported tokens' pieces, concatenated
  std::vector<int32_t> pieceOffsets;  // reported tokens + 1 offsets into pieceBytes
  double ms = 0;
  bool aborted = false;
  std::string error;
  std::string errorCode;
};

// Tokens of one phase with their routing, as the worker hands them to JavaScript.
struct TokenChunk {
  bool generated = false;
  int firstIndex = 0;
  std::vector<int32_t> ids;
  std::string pieceBytes;             // pieces concatenated
  std::vector<int32_t> pieceOffsets;  // ids.size() + 1 offsets into pieceBytes
  std::vector<uint16_t> experts;      // [token][moeLayer][k]
  std::vector<float> weights;
  bool Empty() const { return ids.empty(); }
};

struct GenerateResult {
  std::string stopReason;  // eos | stop-string | max-tokens | aborted | context-full
  int promptTokens = 0;
  int evaluatedPromptTokens = 0;
  int generatedTokens = 0;
  double promptMs = 0;
  double generateMs = 0;
  double firstTokenMs = 0;
  bool routingCaptured = false;
  std::string error;      // non-empty on failure: one line for users
  std::string errorCode;  // with error: context-overflow | empty-prompt | decode-failed | bad-grammar (mapped to EngineError codes in JS)
};

// Frees what llama.cpp allocated, through the function table the addon resolved at start-up.
struct LlamaDeleter {
  void operator()(llama_model* model) const;
  void operator()(llama_context* ctx) const;
  void operator()(ggml_threadpool* pool) const;
  void operator()(llama_sampler* sampler) const;
};

class Session {
 public:
  ~Session();
  // Returns "" on success, else the reason. `log` receives llama.cpp's log lines during load.
  std::string Load(const LoadParams& params, std::string& log, const std::atomic<bool>* cancel);

  std::vector<int32_t> Tokenize(const std::string& text, bool addSpecial, bool parseSpecial) const;
  std::string Piece(int32_t token) const;

  // Decodes the prompt (reusing the cached prefix), then samples. `emit` is called with chunks of
  // tokens, at least every `emitIntervalMs` while tokens flow and at each phase change.
  GenerateResult Generate(const GenerateParams& params, const std::function<void(TokenChunk&&)>& emit);
  // Evaluates params.tokens afresh (the KV cache is cleared, so the next Generate reuses nothing).
  EvaluateResult Evaluate(const EvaluateParams& params);
  // Evaluates each of params' sequences afresh (as Evaluate) and reports their routing and pieces.
  RouteResult Route(const RouteParams& params);

  std::atomic<bool> abort{false};
  // Set on the JavaScript thread while a load, generation or evaluation is queued or running: llama.cpp's context
  // is not safe for two computations at once, so the addon refuses a second one instead of corrupting the first.
  std::atomic<bool> busy{false};
  int ContextSize() const;
  int VocabSize() const;
  // The RPC devices the model was loaded onto (empty without rpcServers).
  const std::vector<RpcDevice>& RpcDeviceList() const { return rpcDevices_; }

 private:
  // Decodes n tokens at positions firstPos.. (error: llama_decode's status; 2 = aborted).
  bool DecodeTokens(const int32_t* tokens, int n, int firstPos, bool allOutputs, bool capture, int& error);
  void AppendToken(TokenChunk& chunk, int32_t token, bool capture, int row);

  // Declaration order is release order reversed: the context goes first, then the thread pool, then the model.
  std::unique_ptr<llama_model, LlamaDeleter> model_;
  std::unique_ptr<ggml_threadpool, LlamaDeleter> threadpool_;
  std::unique_ptr<llama_context, LlamaDeleter> ctx_;
  const llama_vocab* vocab_ = nullptr;
  int batchSize_ = 0;  // llama_n_batch after load (llama.cpp may clamp the requested size)
  RouterCapture capture_;
  llama_batch batch_{};
  bool batchReady_ = false;
  // How many leading tokens of cached_ the memory can keep for `prompt` (0: clear it and evaluate afresh).
  size_t ReusablePrefix(const std::vector<int32_t>& prompt);

  std::vector<int32_t> cached_;  // tokens whose KV is in the context
  std::string cachedIntervention_;  // Intervention::key the cached tokens were computed under
  std::vector<llama_model_kv_override> kvOverrides_;
  bool recurrentMemory_ = false;  // recurrent or hybrid: the state exists only for the last evaluated position
  bool allPromptLogits_ = false;  // MOE_LENS_ALL_PROMPT_LOGITS=1: the lm_head for every captured prompt token (bench)
  int swaWindow_ = 0;             // sliding-window attention layers keep only this many recent positions
  std::string overridePattern_;  // overrides_ points into it: must live as long as the model
  std::vector<llama_model_tensor_buft_override> overrides_;
  std::vector<RpcDevice> rpcDevices_;
  std::vector<ggml_backend_dev_t> devices_;  // null-terminated list for llama_model_params.devices
};
