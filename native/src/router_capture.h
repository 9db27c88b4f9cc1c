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
//
// Interventions are applied in the same callback, before the router's choice is read, so the routing
// captured is the routing the model used. For a layer with an intervention the callback observes the
// router's score nodes and writes -inf into the masked experts' entries:
//   - `ffn_moe_logits-N` (before the gating function): a softmax router then renormalises over the experts
//     left, and a sigmoid router's probability becomes 0;
//   - `ffn_moe_probs_biased-N` (exists only with a selection bias, DeepSeek-V3 style): the bias cannot bring a
//     masked expert back; for force a finite -1e30, so that expert groups (scored by their two best entries)
//     holding one forced expert still outrank those holding none;
//   - ablation only: `ffn_moe_probs-N`, so a sigmoid router's masked score is out of the selection and of the
//     group scores (-inf), the other experts' scores unchanged. Safe for every gating function because
//     validation leaves at least k experts unmasked, so a masked expert's probability is never read as a
//     gate weight. Force does not mask probs: with fewer forced experts than k, the extra slots are filled
//     with masked experts whose gate weight must be 0 (their probability after -inf logits), not -inf.
// Writes go straight into host memory; on a device buffer through ggml_backend_tensor_get/set.
//
// With `expertNorms` on, the callback also observes `ffn_moe_down-N` (each selected expert's output, before
// the gate weight) and keeps its L2 norm per token and slot: REAP's ||expert output||.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

struct ggml_tensor;

// Per MoE layer (slot in the capture's order): which experts' router scores are set to -inf.
struct Intervention {
  struct Layer {
    int slot = -1;
    bool force = false;        // masked = every expert not forced
    std::vector<int> masked;   // expert ids whose scores become -inf
  };
  std::vector<Layer> layers;
  std::string key;  // canonical text of the intervention ("" = none): the prefix cache is keyed on it
  bool Active() const { return !layers.empty(); }
};

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
  // Copies the routing of token t of the last decode, ordered by weight descending (norms: the same order).
  void CopyToken(int t, uint16_t* experts, float* weights, float* norms = nullptr) const;
  // The intervention applied to the following decodes (nullptr = none); must outlive them.
  void SetIntervention(const Intervention* intervention);
  // Also record each selected expert's output norm (REAP) during captured decodes.
  bool expertNorms = false;
  bool Complete() const;
  int MoeLayerCount() const { return static_cast<int>(moeLayers_.size()); }
  int K() const { return k_; }

  static bool Callback(ggml_tensor* t, bool ask, void* self);

 private:
  bool OnTensor(ggml_tensor* t, bool ask);
  // The intervention layer for a router score node (logits, probs, probs_biased), or nullptr.
  const Intervention::Layer* MaskFor(const char* name) const;
  void Mask(ggml_tensor* t, const Intervention::Layer& layer, float value);
  void ReadNorms(int slot, ggml_tensor* down);
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
  std::vector<float> norms_;        // [token][slot][k], with expertNorms
  std::vector<int> interventionOfSlot_;  // slot -> index into intervention_->layers or -1
  const Intervention* intervention_ = nullptr;
  std::vector<uint8_t> scratch_;
};
