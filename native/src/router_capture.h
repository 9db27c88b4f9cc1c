// Router capture through llama.cpp's eval callback (cb_eval).
//
// Per MoE layer the graph holds `ffn_moe_topk-N` (chosen expert ids, a strided view [k, n_tokens]) and the
// gate weights, whose final node depends on the architecture: `ffn_moe_weights` then optionally
// `_softmax`, `_norm` (Mixtral) and `_scaled`. We never observe the top-k node itself (that would cost a
// device sync): we keep its pointer when asked about it and read it together with the weights node, where
// it is still alive because the expert matmuls use it afterwards. So one sync per layer.
//
// Which weights node is final is learned on the first captured decode (all candidates are observed
// once, later ones overwrite earlier ones), then only that node is observed.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

struct ggml_tensor;

class RouterCapture {
 public:
  // moeLayers: model layer index of each MoE layer, in order; k: experts used per token.
  void Configure(const std::vector<int>& moeLayers, int nModelLayers, int k);

  std::atomic<bool> enabled{false};
  // Set per decode: once the last layer's routing is read, cancel the rest of the compute (its expert matmuls
  // and the lm_head). Only for decodes whose logits nobody reads; only effective when CanCut().
  bool cutAfterLastLayer = false;
  // The last MoE layer is the model's last layer (nothing after it writes memory) and its node is known.
  bool CanCut() const { return lastLayerIsMoe_ && finalCandidate_ >= 0; }

  // Start of a llama_decode of nTokens tokens (all of them outputs).
  void BeginDecode(int nTokens);
  // End of that llama_decode: commits the last rows and, the first time, fixes the final weights node.
  void EndDecode();
  // Copies the routing of token t of the last decode, ordered by weight descending.
  void CopyToken(int t, uint16_t* experts, float* weights) const;
  bool Complete() const;
  int MoeLayerCount() const { return static_cast<int>(moeLayers_.size()); }
  int K() const { return k_; }

  static bool Callback(ggml_tensor* t, bool ask, void* self);

 private:
  bool OnTensor(ggml_tensor* t, bool ask);
  void Read(int slot, int candidate, ggml_tensor* weights);
  void CommitRows(int slot);

  std::vector<int> moeLayers_;
  std::vector<int> slotOfLayer_;  // model layer -> MoE slot or -1
  int k_ = 0;
  bool lastLayerIsMoe_ = false;

  int finalCandidate_ = -1;    // index into kWeightNodes, -1 while learning
  int learnedCandidate_ = -1;  // highest candidate seen while learning

  int nTokens_ = 0;
  std::vector<ggml_tensor*> topk_;  // per slot, from the current ubatch
  std::vector<int> rowsDone_;       // per slot, rows committed in this decode (earlier ubatches)
  std::vector<int> pendingRows_;    // per slot, rows read in the current ubatch
  std::vector<int32_t> ids_;        // [token][slot][k] in top-k order
  std::vector<float> weights_;      // [token][slot][k]
  std::vector<uint8_t> scratch_;
};
