// The engine's own load/capture/decode code (native/src: session.cpp, router_capture.cpp, llama_api.cpp) driven
// from a command line, without N-API or Node: for machines that have a compiler but no Node (the GPU check,
// scripts/gpu-check.sh). Linked against a libllama build; LoadLlamaApi finds it among the loaded libraries.
//
//   driver --model M [--threads N] [--gpu-layers N] [--cpu-moe all|none|auto|N] [--vram-budget-mib B]
//          [--ctx N] [--prompt N] [--gen N] [--rounds R] [--label TEXT] [--plan-only]
//
// Per run: load once with the MoE offload asked for, print the placement llama.cpp reports (its buffer lines),
// then R interleaved rounds of decode (greedy, --gen tokens after a 16-token prompt) and prompt (--prompt tokens,
// one generated), each with router capture on and off, and one markdown row per capture setting: median and
// min–max tok/s, and decode bytes/token × tok/s.
//
// Facts read from the GGUF header here mirror extension/engine/model-file.ts (the MoE layers, experts used,
// decode bytes per token, the 'auto' plan of planPlacement); test/engine/gpu-check.test.ts checks them against it
// with --plan-only.
#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "../../native/src/session.h"
#include "gguf.h"

namespace {

struct Options {
  std::string model, label, cpuMoe = "none";
  int threads = 0, gpuLayers = -1, ctx = 1024, prompt = 512, gen = 128, rounds = 3;
  double vramBudgetMiB = -1;
  bool planOnly = false;
};

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "driver: %s\n", message.c_str());
  std::exit(1);
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Fail("missing value after " + a);
      return argv[++i];
    };
    if (a == "--model") o.model = value();
    else if (a == "--label") o.label = value();
    else if (a == "--cpu-moe") o.cpuMoe = value();
    else if (a == "--threads") o.threads = std::atoi(value().c_str());
    else if (a == "--gpu-layers") o.gpuLayers = std::atoi(value().c_str());
    else if (a == "--ctx") o.ctx = std::atoi(value().c_str());
    else if (a == "--prompt") o.prompt = std::atoi(value().c_str());
    else if (a == "--gen") o.gen = std::atoi(value().c_str());
    else if (a == "--rounds") o.rounds = std::max(1, std::atoi(value().c_str()));
    else if (a == "--vram-budget-mib") o.vramBudgetMiB = std::atof(value().c_str());
    else if (a == "--plan-only") o.planOnly = true;
    else Fail("unknown argument " + a);
  }
  if (o.model.empty()) Fail("--model is required");
  if (o.label.empty()) o.label = o.model.substr(o.model.find_last_of('/') + 1);
  return o;
}

// What model-file.ts's modelFacts reads from the header.
struct Facts {
  std::string arch;
  int layers = 0, experts = 0, k = 0, vocab = 0;
  std::vector<int> moeLayers;
  std::map<int, double> expertBytesByLayer;
  double weightBytes = 0, decodeBytesPerToken = 0, kvBytesPerToken = 0;
  // llama.cpp's input layer (kept in RAM whatever is offloaded), and the output's own copy of a shared token embedding
  double inputBytes = 0, tiedOutputBytes = 0;
};

int64_t ArchInt(gguf_context* g, const std::string& arch, const char* key, int64_t fallback) {
  const int64_t id = gguf_find_key(g, (arch + "." + key).c_str());
  if (id < 0) return fallback;
  switch (gguf_get_kv_type(g, id)) {
    case GGUF_TYPE_UINT32: return gguf_get_val_u32(g, id);
    case GGUF_TYPE_INT32: return gguf_get_val_i32(g, id);
    case GGUF_TYPE_UINT64: return static_cast<int64_t>(gguf_get_val_u64(g, id));
    case GGUF_TYPE_ARRAY:  // per-layer arrays: the first value, as model-file.ts's metaNumber
      if (gguf_get_arr_n(g, id) > 0 && gguf_get_arr_type(g, id) == GGUF_TYPE_INT32)
        return static_cast<const int32_t*>(gguf_get_arr_data(g, id))[0];
      if (gguf_get_arr_n(g, id) > 0 && gguf_get_arr_type(g, id) == GGUF_TYPE_UINT32)
        return static_cast<const uint32_t*>(gguf_get_arr_data(g, id))[0];
      return fallback;
    default: return fallback;
  }
}

Facts ReadFacts(const std::string& path) {
  gguf_init_params params{/*no_alloc=*/true, /*ctx=*/nullptr};
  gguf_context* g = gguf_init_from_file(path.c_str(), params);
  if (!g) Fail("cannot read the GGUF header of " + path);
  Facts f;
  const int64_t archId = gguf_find_key(g, "general.architecture");
  if (archId < 0) Fail(path + " has no general.architecture");
  f.arch = gguf_get_val_str(g, archId);
  f.layers = static_cast<int>(ArchInt(g, f.arch, "block_count", 0));
  f.experts = static_cast<int>(ArchInt(g, f.arch, "expert_count", 0));
  f.k = static_cast<int>(ArchInt(g, f.arch, "expert_used_count", 0));
  const int64_t tokensId = gguf_find_key(g, "tokenizer.ggml.tokens");
  f.vocab = static_cast<int>(ArchInt(g, f.arch, "vocab_size", tokensId >= 0 ? static_cast<int64_t>(gguf_get_arr_n(g, tokensId)) : 0));
  const int64_t nEmbd = ArchInt(g, f.arch, "embedding_length", 0);
  const int64_t nHead = ArchInt(g, f.arch, "attention.head_count", 1);
  const int64_t nHeadKv = ArchInt(g, f.arch, "attention.head_count_kv", nHead);
  const int64_t keyLength = ArchInt(g, f.arch, "attention.key_length", nHead > 0 ? nEmbd / nHead : 0);
  const int64_t valueLength = ArchInt(g, f.arch, "attention.value_length", keyLength);
  f.kvBytesPerToken = static_cast<double>(f.layers) * nHeadKv * (keyLength + valueLength) * 2;  // f16 K and V

  const std::regex expert(R"(\.ffn_(up|down|gate|gate_up)_(ch|)exps\.)");
  const std::regex router(R"(^blk\.(\d+)\.ffn_gate_inp\.weight$)");
  const std::regex layerOf(R"(^blk\.(\d+)\.)");
  const std::regex input(R"(^(token_embd|token_types|position_embd|per_layer_token_embd)\.weight$)");
  bool tied = true;
  double embdBytes = 0;
  for (int64_t i = 0; i < gguf_get_n_tensors(g); i++) {
    const std::string name = gguf_get_tensor_name(g, i);
    const double bytes = static_cast<double>(gguf_get_tensor_size(g, i));
    f.weightBytes += bytes;
    std::smatch m;
    if (std::regex_match(name, m, router)) f.moeLayers.push_back(std::atoi(m[1].str().c_str()));
    if (name == "output.weight") tied = false;
    if (std::regex_match(name, input)) f.inputBytes += bytes;
    const bool isExpert = std::regex_search(name + ".", expert);
    if (isExpert && std::regex_search(name, m, layerOf)) f.expertBytesByLayer[std::atoi(m[1].str().c_str())] += bytes;
    if (isExpert && f.experts > 0) f.decodeBytesPerToken += bytes * f.k / f.experts;
    else if (name == "token_embd.weight" && f.vocab > 0) embdBytes = bytes;
    else f.decodeBytesPerToken += bytes;
  }
  if (embdBytes > 0) f.decodeBytesPerToken += tied ? embdBytes + embdBytes / f.vocab : embdBytes / f.vocab;
  if (tied) f.tiedOutputBytes = embdBytes;
  std::sort(f.moeLayers.begin(), f.moeLayers.end());
  f.moeLayers.erase(std::unique(f.moeLayers.begin(), f.moeLayers.end()), f.moeLayers.end());
  if (f.experts == 0) f.moeLayers.clear();
  gguf_free(g);
  return f;
}

// planPlacement's 'auto': the fewest leading layers whose experts stay in RAM for the rest to fit the budget.
int AutoPlan(const Facts& f, double budgetBytes) {
  for (int n = 0; n <= f.layers; n++) {
    double inRam = 0;
    for (const auto& [layer, bytes] : f.expertBytesByLayer)
      if (layer < n) inRam += bytes;
    if (f.weightBytes - inRam - f.inputBytes + f.tiedOutputBytes <= budgetBytes) return n;
  }
  return f.layers;
}

double FreeGpuBytes() {
  for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
    ggml_backend_dev_t dev = ggml_backend_dev_get(i);
    if (ggml_backend_dev_type(dev) != GGML_BACKEND_DEVICE_TYPE_GPU) continue;
    size_t free = 0, total = 0;
    ggml_backend_dev_memory(dev, &free, &total);
    return static_cast<double>(free);
  }
  return 0;
}

double Median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs[xs.size() / 2];
}

std::string Stats(const std::vector<double>& xs) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.1f (%.1f–%.1f)", Median(xs), *std::min_element(xs.begin(), xs.end()),
                *std::max_element(xs.begin(), xs.end()));
  return buf;
}

std::vector<int32_t> PromptIds(int n) {  // as scripts/bench/vs-llama-bench.ts
  std::vector<int32_t> ids{1};
  for (int i = 0; static_cast<int>(ids.size()) < n; i++) ids.push_back(300 + (i * 37) % 700);
  return ids;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  const Facts f = ReadFacts(o.model);

  // llama.cpp's log: warnings and errors only (Session::Load collects the load log itself, for the buffers).
  llama_log_set([](ggml_log_level level, const char* text, void*) {
    if (level == GGML_LOG_LEVEL_WARN || level == GGML_LOG_LEVEL_ERROR) std::fputs(text, stderr);
  }, nullptr);
  llama_backend_init();
  const std::string apiError = LoadLlamaApi("", g_llama);
  if (!apiError.empty()) Fail(apiError);

  int cpuMoeLayers = 0;
  std::string plan = o.cpuMoe;
  if (o.cpuMoe == "all") cpuMoeLayers = f.layers;
  else if (o.cpuMoe == "none") cpuMoeLayers = 0;
  else if (o.cpuMoe == "auto") {
    // planPlacement: 95 % of free VRAM less the context (here its f16 KV cache and 1 GiB for compute buffers).
    const double budget = o.vramBudgetMiB >= 0 ? o.vramBudgetMiB * 1048576.0
                                               : FreeGpuBytes() * 0.95 - f.kvBytesPerToken * o.ctx - 1073741824.0;
    cpuMoeLayers = AutoPlan(f, budget);
    char buf[128];
    std::snprintf(buf, sizeof buf, "auto (budget %.0f MiB)", budget / 1048576.0);
    plan = buf;
  } else cpuMoeLayers = std::max(0, std::min(f.layers, std::atoi(o.cpuMoe.c_str())));

  if (o.planOnly) {
    std::printf("{\"arch\":\"%s\",\"layers\":%d,\"experts\":%d,\"k\":%d,\"moeLayers\":[", f.arch.c_str(), f.layers, f.experts, f.k);
    for (size_t i = 0; i < f.moeLayers.size(); i++) std::printf("%s%d", i ? "," : "", f.moeLayers[i]);
    std::printf("],\"weightBytes\":%.0f,\"decodeBytesPerToken\":%.0f,\"cpuMoeLayers\":%d}\n", f.weightBytes,
                f.decodeBytesPerToken, cpuMoeLayers);
    return 0;
  }

  LoadParams params;
  params.path = o.model;
  params.gpuLayers = o.gpuLayers;
  params.cpuMoeLayers = cpuMoeLayers;
  params.contextSize = std::max(o.ctx, o.prompt + 8);
  params.threads = o.threads;
  params.moeLayers = f.moeLayers;
  params.expertsPerToken = f.k;
  Session session;
  std::string log;
  std::atomic<bool> cancel{false};
  const std::string loadError = session.Load(params, log, &cancel);
  if (!loadError.empty()) Fail("load: " + loadError + "\n" + log);

  // The placement llama.cpp reports: its buffer lines ("load_tensors: CUDA0 model buffer size = ... MiB").
  std::printf("\n### %s — MoE offload %s: experts of %d of %d layers in RAM\n\n", o.label.c_str(), plan.c_str(), cpuMoeLayers, f.layers);
  const std::regex buffer(R"((\S+) (model|KV|compute|RS|output) buffer size =\s+([\d.]+) MiB)");
  for (std::sregex_iterator it(log.begin(), log.end(), buffer), end; it != end; ++it)
    std::printf("    %s %s buffer %s MiB\n", (*it)[1].str().c_str(), (*it)[2].str().c_str(), (*it)[3].str().c_str());

  SamplingParams decode;
  decode.maxTokens = o.gen;
  SamplingParams prompt;
  prompt.maxTokens = 1;
  const auto noop = [](TokenChunk&&) {};
  // One generation, as session.h takes it (one params object; no prefix reuse, no intervention).
  const auto generate = [&](const std::vector<int32_t>& ids, const SamplingParams& sampling, bool capture) {
    GenerateParams params;
    params.prompt = ids;
    params.sampling = sampling;
    params.capture = capture;
    params.reusePrefix = false;
    params.emitIntervalMs = 1e9;
    return session.Generate(params, noop);
  };
  const auto decodeIds = PromptIds(16), promptIds = PromptIds(o.prompt);
  // Warm-up: page the weights in, and the first captured decode (it learns the router's final node).
  generate(decodeIds, decode, true);
  generate(PromptIds(32), prompt, true);

  std::map<bool, std::vector<double>> tg, pp;
  std::map<bool, int> tokens;
  for (int r = 0; r < o.rounds; r++) {
    for (bool capture : {true, false}) {
      const GenerateResult d = generate(decodeIds, decode, capture);
      if (!d.error.empty()) Fail("generate: " + d.error);
      tg[capture].push_back(d.generateMs > 0 ? d.generatedTokens * 1000.0 / d.generateMs : 0);
      tokens[capture] = d.generatedTokens;
      const GenerateResult p = generate(promptIds, prompt, capture);
      if (!p.error.empty()) Fail("generate: " + p.error);
      pp[capture].push_back(p.promptMs > 0 ? p.evaluatedPromptTokens * 1000.0 / p.promptMs : 0);
    }
  }
  std::printf("\n| model | MoE offload | capture | decode tg%d tok/s | prompt pp%d tok/s | decode GB/s of weights |\n", o.gen, o.prompt);
  std::printf("|---|---|---|---|---|---|\n");
  for (bool capture : {true, false}) {
    std::printf("| %s | %s | %s | %s | %s | %.0f |\n", o.label.c_str(), plan.c_str(), capture ? "on" : "off",
                Stats(tg[capture]).c_str(), Stats(pp[capture]).c_str(), f.decodeBytesPerToken * Median(tg[capture]) / 1e9);
    if (tokens[capture] != o.gen) std::printf("(capture %s: the decode stopped after %d tokens)\n", capture ? "on" : "off", tokens[capture]);
  }
  std::printf("\ndecode reads %.0f MB of weights per token; capture on ÷ off: decode %.3f, prompt %.3f\n",
              f.decodeBytesPerToken / 1e6, Median(tg[true]) / Median(tg[false]), Median(pp[true]) / Median(pp[false]));
  return 0;
}
