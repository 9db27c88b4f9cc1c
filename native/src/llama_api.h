// The llama.cpp / ggml functions the addon calls, resolved at run time with dlsym from the libllama (and
// libggml-base) that node-llama-cpp already loaded. Linking at build time would pull in a second libllama
// next to the variant node-llama-cpp chose (see DESIGN.md §2).
#pragma once

#include <string>

#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "ggml.h"
#include "llama.h"

#define MOE_LENS_LLAMA_FUNCTIONS(X)       \
  X(llama_model_default_params)           \
  X(llama_context_default_params)         \
  X(llama_sampler_chain_default_params)   \
  X(llama_model_load_from_file)           \
  X(llama_model_free)                     \
  X(llama_init_from_model)                \
  X(llama_free)                           \
  X(llama_model_get_vocab)                \
  X(llama_model_n_layer)                  \
  X(llama_model_is_recurrent)             \
  X(llama_model_is_hybrid)                \
  X(llama_model_n_swa)                    \
  X(llama_n_ctx)                          \
  X(llama_n_batch)                        \
  X(llama_get_memory)                     \
  X(llama_memory_clear)                   \
  X(llama_memory_seq_rm)                  \
  X(llama_memory_seq_pos_min)             \
  X(llama_memory_seq_pos_max)             \
  X(llama_vocab_n_tokens)                 \
  X(llama_vocab_is_eog)                   \
  X(llama_tokenize)                       \
  X(llama_token_to_piece)                 \
  X(llama_batch_init)                     \
  X(llama_batch_free)                     \
  X(llama_decode)                         \
  X(llama_get_logits_ith)                 \
  X(llama_synchronize)                    \
  X(llama_set_abort_callback)             \
  X(llama_sampler_chain_init)             \
  X(llama_sampler_chain_add)              \
  X(llama_sampler_init_greedy)            \
  X(llama_sampler_init_dist)              \
  X(llama_sampler_init_top_k)             \
  X(llama_sampler_init_top_p)             \
  X(llama_sampler_init_min_p)             \
  X(llama_sampler_init_temp)              \
  X(llama_sampler_init_penalties)         \
  X(llama_sampler_init_grammar)           \
  X(llama_sampler_sample)                 \
  X(llama_sampler_accept)                 \
  X(llama_sampler_free)                   \
  X(llama_log_get)                        \
  X(llama_log_set)                        \
  X(llama_attach_threadpool)

#define MOE_LENS_GGML_FUNCTIONS(X) \
  X(ggml_backend_tensor_get)       \
  X(ggml_backend_tensor_set)       \
  X(ggml_backend_buffer_is_host)   \
  X(ggml_backend_cpu_buffer_type)  \
  X(ggml_nbytes)                   \
  X(ggml_threadpool_params_default) \
  X(ggml_backend_reg_dev_count)    \
  X(ggml_backend_reg_dev_get)      \
  X(ggml_backend_dev_name)         \
  X(ggml_backend_dev_memory)

struct LlamaApi {
#define MOE_LENS_DECLARE(name) decltype(&::name) name = nullptr;
  MOE_LENS_LLAMA_FUNCTIONS(MOE_LENS_DECLARE)
  MOE_LENS_GGML_FUNCTIONS(MOE_LENS_DECLARE)
#undef MOE_LENS_DECLARE
  // From the CPU backend library (optional: absent, each compute makes a throw-away thread pool).
  decltype(&::ggml_threadpool_new) ggml_threadpool_new = nullptr;
  decltype(&::ggml_threadpool_free) ggml_threadpool_free = nullptr;
};

// Finds the loaded libllama/libggml-base, checks that libllama's file name carries `expectedRelease`
// (the llama.cpp release the addon was compiled against) and resolves every function. Returns an empty
// string on success, else a one-line reason.
std::string LoadLlamaApi(const std::string& expectedRelease, LlamaApi& api);

// The process-wide table, valid after a successful LoadLlamaApi.
extern LlamaApi g_llama;
