#include "router_capture.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "llama_api.h"

namespace {

const char* const kTopkNode = "ffn_moe_topk";
// Possible gate-weight nodes, in graph order (see build_moe_ffn in llama.cpp's src/llama-graph.cpp).
const char* const kWeightNodes[] = {"ffn_moe_weights", "ffn_moe_weights_softmax", "ffn_moe_weights_norm",
                                    "ffn_moe_weights_scaled"};
constexpr int kWeightNodeCount = 4;
const char* const kLogitsNode = "ffn_moe_logits";
const char* const kProbsNode = "ffn_moe_probs";
const char* const kBiasedNode = "ffn_moe_probs_biased";
const char* const kDownNode = "ffn_moe_down";
// What a forced layer's other experts score in the biased selection: far below any real score, and twice it
// (a group's two best) still finite.
constexpr float kForceMaskedSelection = 1e30f;

// Splits "ffn_moe_topk-12" into its base name match and layer; returns the layer or -1.
int LayerOf(const char* name, const char* base) {
  const size_t n = std::strlen(base);
  if (std::strncmp(name, base, n) != 0 || name[n] != '-') return -1;
  char* end = nullptr;
  const long layer = std::strtol(name + n + 1, &end, 10);
  return (end && *end == '\0') ? static_cast<int>(layer) : -1;
}

}  // namespace

void RouterCapture::Configure(const std::vector<int>& moeLayers, int nModelLayers, int k) {
  moeLayers_ = moeLayers;
  k_ = k;
  lastLayerIsMoe_ = !moeLayers.empty() && moeLayers.back() == nModelLayers - 1;
  slotOfLayer_.assign(std::max(nModelLayers, 1), -1);
  for (size_t s = 0; s < moeLayers.size(); s++)
    if (moeLayers[s] >= 0 && moeLayers[s] < nModelLayers) slotOfLayer_[moeLayers[s]] = static_cast<int>(s);
  topk_.assign(moeLayers.size(), nullptr);
  rowsDone_.assign(moeLayers.size(), 0);
  pendingRows_.assign(moeLayers.size(), 0);
  learnedCandidate_ = -1;
  interventionOfSlot_.assign(moeLayers.size(), -1);
}

void RouterCapture::SetIntervention(const Intervention* intervention) {
  intervention_ = intervention && intervention->Active() ? intervention : nullptr;
  std::fill(interventionOfSlot_.begin(), interventionOfSlot_.end(), -1);
  if (!intervention_) return;
  for (size_t i = 0; i < intervention_->layers.size(); i++) {
    const int slot = intervention_->layers[i].slot;
    if (slot >= 0 && slot < static_cast<int>(interventionOfSlot_.size())) interventionOfSlot_[slot] = static_cast<int>(i);
  }
}

const Intervention::Layer* RouterCapture::MaskFor(const char* name) const {
  if (!intervention_) return nullptr;
  int layer = LayerOf(name, kLogitsNode);
  if (layer < 0) layer = LayerOf(name, kBiasedNode);
  bool probs = false;
  if (layer < 0) layer = LayerOf(name, kProbsNode), probs = true;
  if (layer < 0 || layer >= static_cast<int>(slotOfLayer_.size()) || slotOfLayer_[layer] < 0) return nullptr;
  const int index = interventionOfSlot_[slotOfLayer_[layer]];
  if (index < 0) return nullptr;
  const Intervention::Layer& l = intervention_->layers[index];
  return probs && l.force ? nullptr : &l;
}

void RouterCapture::Mask(ggml_tensor* t, const Intervention::Layer& layer, float minus) {
  if (t->type != GGML_TYPE_F32) return;
  const int64_t nExpert = t->ne[0];
  const int64_t rows = t->ne[1] * t->ne[2] * t->ne[3];
  // A device buffer is copied out, masked and copied back (contiguous score nodes, as build_moe_ffn makes them).
  const bool host = t->buffer && g_llama.ggml_backend_buffer_is_host(t->buffer);
  const size_t bytes = g_llama.ggml_nbytes(t);
  uint8_t* data = static_cast<uint8_t*>(t->data);
  if (!host) {
    scratch_.resize(bytes);
    g_llama.ggml_backend_tensor_get(t, scratch_.data(), 0, bytes);
    data = scratch_.data();
  }
  for (int64_t row = 0; row < rows; row++) {
    uint8_t* base = data + (row % t->ne[1]) * t->nb[1] + (row / t->ne[1]) * t->nb[2];
    for (int e : layer.masked)
      if (e < nExpert) std::memcpy(base + e * t->nb[0], &minus, sizeof(float));
  }
  if (!host) g_llama.ggml_backend_tensor_set(t, scratch_.data(), 0, bytes);
}

void RouterCapture::BeginDecode(int nTokens) {
  nTokens_ = nTokens;
  std::fill(topk_.begin(), topk_.end(), nullptr);
  std::fill(rowsDone_.begin(), rowsDone_.end(), 0);
  std::fill(pendingRows_.begin(), pendingRows_.end(), 0);
  ids_.assign(static_cast<size_t>(nTokens) * moeLayers_.size() * k_, -1);
  weights_.assign(ids_.size(), 0.0f);
  norms_.assign(expertNorms ? ids_.size() : 0, 0.0f);
}

bool RouterCapture::Complete() const {
  for (int rows : rowsDone_)
    if (rows < nTokens_) return false;
  return true;
}

void RouterCapture::CopyToken(int t, uint16_t* experts, float* weights, float* norms) const {
  const size_t layers = moeLayers_.size();
  std::vector<int> order(k_);
  for (size_t s = 0; s < layers; s++) {
    const size_t base = (static_cast<size_t>(t) * layers + s) * k_;
    for (int r = 0; r < k_; r++) order[r] = r;
    // Rank by gate weight, descending; top-k order breaks ties.
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return weights_[base + a] > weights_[base + b]; });
    for (int r = 0; r < k_; r++) {
      experts[s * k_ + r] = static_cast<uint16_t>(ids_[base + order[r]]);
      weights[s * k_ + r] = weights_[base + order[r]];
      if (norms) norms[s * k_ + r] = norms_.empty() ? 0.0f : norms_[base + order[r]];
    }
  }
}

bool RouterCapture::Callback(ggml_tensor* t, bool ask, void* self) {
  return static_cast<RouterCapture*>(self)->OnTensor(t, ask);
}

bool RouterCapture::OnTensor(ggml_tensor* t, bool ask) {
  if (!ask) {
    // Computed: the node we asked for. A router score node of an intervention: mask it before its consumers run.
    if (const Intervention::Layer* layer = MaskFor(t->name)) {
      // Force on the selection scores: a large finite value, not -inf. With expert groups a group's score is the
      // sum of its two best entries, so -inf would sink every group holding one forced expert; finite, a group's
      // score ranks by how many forced experts it holds, and the forced experts' groups are the ones searched
      // (JS refuses a force over more groups than the router searches).
      const bool selection = layer->force && LayerOf(t->name, kBiasedNode) >= 0;
      Mask(t, *layer, selection ? -kForceMaskedSelection : -INFINITY);
      return true;
    }
    const int downLayer = LayerOf(t->name, kDownNode);
    if (downLayer >= 0) {
      if (downLayer < static_cast<int>(slotOfLayer_.size()) && slotOfLayer_[downLayer] >= 0) ReadNorms(slotOfLayer_[downLayer], t);
      return true;
    }
    // Find which weights candidate and layer it is.
    for (int c = 0; c < kWeightNodeCount; c++) {
      const int layer = LayerOf(t->name, kWeightNodes[c]);
      if (layer < 0 || layer >= static_cast<int>(slotOfLayer_.size())) continue;
      const int slot = slotOfLayer_[layer];
      if (slot >= 0) Read(slot, c, t);
      // false cancels the rest of the graph compute (ggml_backend_sched_eval_callback)
      if (cutAfterLastLayer && CanCut() && c == finalCandidate_ && slot + 1 == MoeLayerCount()) return false;
      break;
    }
    return true;
  }
  if (std::strncmp(t->name, "ffn_moe_", 8) != 0) return false;
  if (MaskFor(t->name)) return true;
  if (!enabled.load(std::memory_order_relaxed)) return false;
  if (expertNorms && LayerOf(t->name, kDownNode) >= 0) return true;

  const int topkLayer = LayerOf(t->name, kTopkNode);
  if (topkLayer >= 0) {
    if (topkLayer < static_cast<int>(slotOfLayer_.size()) && slotOfLayer_[topkLayer] >= 0)
    {
      const int slot = slotOfLayer_[topkLayer];
      CommitRows(slot);  // a new ubatch
      topk_[slot] = t;
    }
    return false;  // read later, with the weights
  }
  if (finalCandidate_ >= 0) return LayerOf(t->name, kWeightNodes[finalCandidate_]) >= 0;
  for (int c = 0; c < kWeightNodeCount; c++)
    if (LayerOf(t->name, kWeightNodes[c]) >= 0) return true;
  return false;
}

void RouterCapture::Read(int slot, int candidate, ggml_tensor* w) {
  ggml_tensor* topk = topk_[slot];
  if (!topk) return;
  // Weights are [1, k, n] (get_rows) or [k, n] (after softmax/norm); top-k ids are [k, n], strided. With k = 1
  // the two look alike ([1, 1, n] and [1, n]): the token dimension is the one longer than 1.
  const bool leadingOne = w->ne[0] == 1 && (w->ne[2] > 1 || (k_ > 1 && w->ne[1] == k_));
  const size_t wRankStride = leadingOne ? w->nb[1] : w->nb[0];
  const size_t wTokenStride = leadingOne ? w->nb[2] : w->nb[1];
  const int rows = static_cast<int>(leadingOne ? w->ne[2] : w->ne[1]);

  const size_t wBytes = g_llama.ggml_nbytes(w);
  const size_t tBytes = g_llama.ggml_nbytes(topk);
  scratch_.resize(wBytes + tBytes);
  g_llama.ggml_backend_tensor_get(w, scratch_.data(), 0, wBytes);
  g_llama.ggml_backend_tensor_get(topk, scratch_.data() + wBytes, 0, tBytes);
  const uint8_t* wData = scratch_.data();
  const uint8_t* tData = scratch_.data() + wBytes;

  // While learning, every candidate of an ubatch rewrites the same rows; only the final one advances.
  const int first = rowsDone_[slot];
  const size_t layers = moeLayers_.size();
  for (int row = 0; row < rows && first + row < nTokens_; row++) {
    const size_t base = (static_cast<size_t>(first + row) * layers + slot) * k_;
    for (int r = 0; r < k_; r++) {
      std::memcpy(&weights_[base + r], wData + row * wTokenStride + r * wRankStride, sizeof(float));
      std::memcpy(&ids_[base + r], tData + row * topk->nb[1] + r * topk->nb[0], sizeof(int32_t));
    }
  }
  // Rows are committed when the layer's next ubatch starts or the decode ends: while learning, several
  // candidates of one ubatch rewrite the same rows.
  pendingRows_[slot] = rows;
  if (finalCandidate_ < 0) learnedCandidate_ = std::max(learnedCandidate_, candidate);
}

void RouterCapture::ReadNorms(int slot, ggml_tensor* down) {
  // [n_embd, k, rows] in top-k order, read after this ubatch's weights (so rowsDone_ is this ubatch's first row).
  if (down->type != GGML_TYPE_F32 || norms_.empty() || down->ne[1] != k_) return;
  const size_t bytes = g_llama.ggml_nbytes(down);
  scratch_.resize(bytes);
  g_llama.ggml_backend_tensor_get(down, scratch_.data(), 0, bytes);
  const int rows = static_cast<int>(down->ne[2]);
  const int first = rowsDone_[slot];
  const size_t layers = moeLayers_.size();
  for (int row = 0; row < rows && first + row < nTokens_; row++) {
    const size_t base = (static_cast<size_t>(first + row) * layers + slot) * k_;
    for (int r = 0; r < k_; r++) {
      const uint8_t* v = scratch_.data() + row * down->nb[2] + r * down->nb[1];
      double sum = 0;
      for (int64_t i = 0; i < down->ne[0]; i++) {
        float x;
        std::memcpy(&x, v + i * down->nb[0], sizeof(float));
        sum += static_cast<double>(x) * x;
      }
      norms_[base + r] = static_cast<float>(std::sqrt(sum));
    }
  }
}

void RouterCapture::CommitRows(int slot) {
  rowsDone_[slot] += pendingRows_[slot];
  pendingRows_[slot] = 0;
}

void RouterCapture::EndDecode() {
  for (size_t s = 0; s < rowsDone_.size(); s++) CommitRows(static_cast<int>(s));
  if (finalCandidate_ < 0 && Complete() && learnedCandidate_ >= 0) finalCandidate_ = learnedCandidate_;
}
