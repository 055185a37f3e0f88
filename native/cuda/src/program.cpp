// Validation and memory planning of a NativeProgram (see program.h).
#include "program.h"

#include <climits>
#include <set>

#include "errors.h"

namespace igb {

const char* rowKindName(RowKind k) {
  switch (k) {
    case RowKind::Tokens: return "tokens";
    case RowKind::Sequences: return "sequences";
    case RowKind::HeadRows: return "headRows";
    case RowKind::HiddenRows: return "hiddenRows";
    default: return "groups";
  }
}

const char* opKindName(OpKind k) {
  switch (k) {
    case OpKind::Embeddings: return "embeddings";
    case OpKind::Linear: return "linear";
    case OpKind::AddLayerNorm: return "addLayerNorm";
    case OpKind::LayerNorm: return "layerNorm";
    case OpKind::Attention: return "attention";
    case OpKind::FirstTokens: return "firstTokens";
    case OpKind::GatherRows: return "gatherRows";
    case OpKind::MeanRows: return "meanRows";
    default: return "logSoftmax";
  }
}

namespace {

class Planner {
 public:
  Planner(const ProgramDesc& d, const std::vector<WeightMeta>& w, DType compute, const PlanOptions& o)
      : desc_(d), weights_(w), options_(o) {
    plan_.compute = compute;
    plan_.desc = d;
  }

  ProgramPlan run() {
    if (desc_.ops.empty()) throwInvalid("program has no ops");
    resolveTensors();
    plan_.ops.resize(desc_.ops.size());
    for (size_t i = 0; i < desc_.ops.size(); ++i) checkOp(i);
    planLiveness();
    checkOutputs();
    return std::move(plan_);
  }

 private:
  const ProgramDesc& desc_;
  const std::vector<WeightMeta>& weights_;
  PlanOptions options_;
  ProgramPlan plan_;
  std::string where_;  // "op 3 (linear)" prefix of error messages

  [[noreturn]] void fail(const std::string& msg) { throwInvalid(where_.empty() ? msg : where_ + ": " + msg); }

  void resolveTensors() {
    const auto& ts = desc_.tensors;
    plan_.tensors.resize(ts.size());
    for (size_t i = 0; i < ts.size(); ++i) {
      where_ = "tensor " + std::to_string(i);
      // Follow the view chain to the owning tensor (bounded: a cycle is an error).
      int64_t col = 0;
      size_t cur = i;
      int64_t cols = ts[i].cols;
      if (cols < 1) fail("cols must be >= 1 (got " + std::to_string(cols) + ")");
      for (size_t depth = 0; ts[cur].viewOf >= 0; ++depth) {
        const int parent = ts[cur].viewOf;
        if (depth > ts.size() || size_t(parent) >= ts.size()) fail("viewOf " + std::to_string(parent) + " is not a tensor of this program (or views form a cycle)");
        if (ts[cur].col < 0 || ts[cur].col + ts[cur].cols > ts[parent].cols)
          fail("view columns [" + std::to_string(ts[cur].col) + ", " + std::to_string(ts[cur].col + ts[cur].cols) +
               ") exceed tensor " + std::to_string(parent) + "'s " + std::to_string(ts[parent].cols) + " cols");
        col += ts[cur].col;
        cur = size_t(parent);
      }
      TensorPlan& p = plan_.tensors[i];
      p.root = int(cur);
      p.col = col;
      p.cols = cols;
      p.ld = ts[cur].cols;
      p.rows = ts[cur].rows;
      p.dtype = ts[cur].f32 ? DType::F32 : plan_.compute;
    }
    where_.clear();
  }

  const TensorPlan& tensor(int id, const char* role) {
    if (id < 0 || size_t(id) >= plan_.tensors.size())
      fail(std::string(role) + " = " + std::to_string(id) + " is not a tensor of this program");
    return plan_.tensors[size_t(id)];
  }

  const WeightMeta& weight(int id, const char* role) {
    if (id < 0 || size_t(id) >= weights_.size() || !weights_[size_t(id)].exists)
      fail(std::string(role) + " = " + std::to_string(id) + " is not an uploaded weight");
    return weights_[size_t(id)];
  }

  const WeightMeta& vectorOf(int id, const char* role, int64_t length) {
    const WeightMeta& w = weight(id, role);
    if (!w.vector) fail(std::string(role) + " (weight " + std::to_string(id) + ") must be uploaded with kind 'vector'");
    if (w.length() != length)
      fail(std::string(role) + " (weight " + std::to_string(id) + ") has " + std::to_string(w.length()) +
           " elements, expected " + std::to_string(length));
    return w;
  }

  const WeightMeta& matrixOf(int id, const char* role, int64_t cols) {
    const WeightMeta& w = weight(id, role);
    if (w.vector) fail(std::string(role) + " (weight " + std::to_string(id) + ") must be uploaded with kind 'matrix'");
    if (w.cols != cols)
      fail(std::string(role) + " (weight " + std::to_string(id) + ") has " + std::to_string(w.cols) + " cols, expected " +
           std::to_string(cols));
    return w;
  }

  void sameShape(const TensorPlan& a, const char* an, const TensorPlan& b, const char* bn) {
    if (a.rows != b.rows)
      fail(std::string(an) + " has rows '" + rowKindName(a.rows) + "' but " + bn + " has rows '" + rowKindName(b.rows) + "'");
    if (a.cols != b.cols)
      fail(std::string(an) + " has " + std::to_string(a.cols) + " cols but " + bn + " has " + std::to_string(b.cols));
  }

  void rowsAre(const TensorPlan& t, const char* role, RowKind k) {
    if (t.rows != k) fail(std::string(role) + " must have rows '" + rowKindName(k) + "' (has '" + rowKindName(t.rows) + "')");
  }

  void computeDtype(const TensorPlan& t, const char* role) {
    if (t.dtype != plan_.compute) fail(std::string(role) + " must have dtype 'compute'");
  }

  void f32Dtype(const TensorPlan& t, const char* role) {
    if (t.dtype != DType::F32) fail(std::string(role) + " must have dtype 'f32'");
  }

  void checkEps(double eps) {
    if (!(eps > 0) || eps > 1) fail("eps must be in (0, 1]");
  }

  void checkOp(size_t i) {
    const OpDesc& op = desc_.ops[i];
    OpPlan& pl = plan_.ops[i];
    where_ = "op " + std::to_string(i) + " (" + opKindName(op.kind) + ")";
    const TensorPlan& out = tensor(op.out, "out");
    switch (op.kind) {
      case OpKind::Embeddings: {
        rowsAre(out, "out", RowKind::Tokens);
        const WeightMeta& word = matrixOf(op.word, "word", out.cols);
        const WeightMeta& pos = matrixOf(op.position, "position", out.cols);
        const WeightMeta& type = matrixOf(op.tokenType, "tokenType", out.cols);
        vectorOf(op.lnWeight, "lnWeight", out.cols);
        vectorOf(op.lnBias, "lnBias", out.cols);
        checkEps(op.eps);
        plan_.vocab = std::min(plan_.vocab, word.rows);
        plan_.positions = std::min(plan_.positions, pos.rows);
        plan_.tokenTypes = std::min(plan_.tokenTypes, type.rows);
        break;
      }
      case OpKind::Linear: {
        const TensorPlan& in = tensor(op.input, "input");
        if (in.rows != out.rows) fail("input and out must have the same rows");
        computeDtype(in, "input");
        if (op.weights.empty()) fail("weights is empty");
        if (op.biases.size() != op.weights.size()) fail("biases must have one entry (a weight id or -1) per weight");
        int64_t features = 0;
        if (std::set<int>(op.weights.begin(), op.weights.end()).size() != op.weights.size())
          fail("weights lists the same weight twice");
        for (size_t j = 0; j < op.weights.size(); ++j) {
          const WeightMeta& w = matrixOf(op.weights[j], "weights[]", in.cols);
          if (op.biases[j] != -1) vectorOf(op.biases[j], "biases[]", w.rows);
          features += w.rows;
        }
        if (out.cols != features)
          fail("out has " + std::to_string(out.cols) + " cols but the weights have " + std::to_string(features) +
               " out_features in all");
        pl.outFeatures = features;
        pl.inFeatures = in.cols;
        if (op.residual >= 0) {
          // out = x·W^T + b + residual through the GEMM's C operand (beta = 1): C has D's type and shape.
          const TensorPlan& res = tensor(op.residual, "residual");
          sameShape(res, "residual", out, "out");
          if (res.dtype != out.dtype) fail("residual must have out's dtype");
          if (op.activation != Activation::None)
            fail("a residual is added after the activation would be: use activation 'none' with a residual");
        }
        break;
      }
      case OpKind::AddLayerNorm:
      case OpKind::LayerNorm: {
        const TensorPlan& in = tensor(op.input, "input");
        sameShape(in, "input", out, "out");
        if (op.kind == OpKind::AddLayerNorm) {
          const TensorPlan& res = tensor(op.residual, "residual");
          sameShape(in, "input", res, "residual");
          if (res.dtype != in.dtype) fail("residual and input must have the same dtype");
        }
        vectorOf(op.lnWeight, "lnWeight", out.cols);
        vectorOf(op.lnBias, "lnBias", out.cols);
        checkEps(op.eps);
        break;
      }
      case OpKind::Attention: {
        const TensorPlan& q = tensor(op.q, "q");
        const TensorPlan& k = tensor(op.k, "k");
        const TensorPlan& v = tensor(op.v, "v");
        rowsAre(q, "q", RowKind::Tokens);
        sameShape(q, "q", k, "k");
        sameShape(q, "q", v, "v");
        sameShape(q, "q", out, "out");
        for (auto [t, n] : {std::pair<const TensorPlan*, const char*>{&q, "q"}, {&k, "k"}, {&v, "v"}, {&out, "out"}})
          computeDtype(*t, n);
        if (op.heads < 1 || q.cols % op.heads != 0)
          fail("heads = " + std::to_string(op.heads) + " does not divide the " + std::to_string(q.cols) + " cols");
        pl.headDim = int(q.cols / op.heads);
        if (pl.headDim > 256) fail("head size " + std::to_string(pl.headDim) + " is over 256");
        const int64_t lds[4] = {q.ld, k.ld, v.ld, out.ld};
        const int64_t cols[4] = {q.col, k.col, v.col, out.col};
        pl.attention = options_.forceSimpleAttention                                ? AttnKernel::Simple
                       : flashSupported(plan_.compute, pl.headDim, lds, cols)      ? AttnKernel::Flash
                       : tiledSupported(pl.headDim, lds, cols)                      ? AttnKernel::Tiled
                                                                                    : AttnKernel::Simple;
        const int tileRows[kAttnKernels] = {options_.flashQueryTile, kTiledQueryTile, kSimpleQueryTile};
        plan_.attnTile[size_t(pl.attention)] = tileRows[int(pl.attention)];
        break;
      }
      case OpKind::FirstTokens: {
        const TensorPlan& in = tensor(op.input, "input");
        rowsAre(in, "input", RowKind::Tokens);
        rowsAre(out, "out", RowKind::Sequences);
        if (in.cols != out.cols) fail("input and out must have the same cols");
        break;
      }
      case OpKind::GatherRows: {
        const TensorPlan& in = tensor(op.input, "input");
        rowsAre(in, "input", RowKind::Tokens);
        if (op.gather != RowKind::HeadRows && op.gather != RowKind::HiddenRows) fail("rows must be 'headRows' or 'hiddenRows'");
        rowsAre(out, "out", op.gather);
        if (in.cols != out.cols) fail("input and out must have the same cols");
        plan_.usesRows[size_t(op.gather)] = true;
        break;
      }
      case OpKind::MeanRows: {
        const TensorPlan& in = tensor(op.input, "input");
        rowsAre(in, "input", RowKind::Tokens);
        rowsAre(out, "out", RowKind::Groups);
        f32Dtype(out, "out");
        if (in.cols != out.cols) fail("input and out must have the same cols");
        plan_.usesRows[size_t(RowKind::Groups)] = true;
        break;
      }
      case OpKind::LogSoftmax: {
        const TensorPlan& in = tensor(op.input, "input");
        sameShape(in, "input", out, "out");
        f32Dtype(out, "out");
        break;
      }
    }
    for (int r : reads(op))
      if (plan_.tensors[size_t(r)].root == out.root) fail("out must not alias an input (tensor " + std::to_string(r) + ")");
    where_.clear();
  }

  // The tensor-core kernel's requirements: 16-bit, head size 64, q/k/v rows 16-byte aligned (loaded as
  // uint4), out rows 4-byte aligned (stored as pairs). Pool allocations are 256-byte aligned.
  static bool flashSupported(DType dtype, int headDim, const int64_t (&lds)[4], const int64_t (&cols)[4]) {
    if (dtype == DType::F32 || headDim != 64) return false;
    for (int i = 0; i < 3; ++i)
      if (lds[i] % 8 != 0 || cols[i] % 8 != 0) return false;
    return lds[3] % 2 == 0 && cols[3] % 2 == 0;
  }

  // The exact tiled kernel's: head size 32 or 64, every row 16-byte aligned for 16-bit and fp32 alike (8 elements).
  static bool tiledSupported(int headDim, const int64_t (&lds)[4], const int64_t (&cols)[4]) {
    if (headDim != 32 && headDim != 64) return false;
    for (int i = 0; i < 4; ++i)
      if (lds[i] % 8 != 0 || cols[i] % 8 != 0) return false;
    return true;
  }

  static std::vector<int> reads(const OpDesc& op) {
    switch (op.kind) {
      case OpKind::Embeddings: return {};
      case OpKind::AddLayerNorm: return {op.input, op.residual};
      case OpKind::Linear: return op.residual >= 0 ? std::vector<int>{op.input, op.residual} : std::vector<int>{op.input};
      case OpKind::Attention: return {op.q, op.k, op.v};
      default: return {op.input};
    }
  }

  void planLiveness() {
    const size_t n = plan_.tensors.size();
    std::vector<bool> allocated(n, false);
    std::vector<size_t> lastUse(n, 0);
    for (size_t i = 0; i < desc_.ops.size(); ++i) {
      const OpDesc& op = desc_.ops[i];
      where_ = "op " + std::to_string(i) + " (" + opKindName(op.kind) + ")";
      for (int r : reads(op)) {
        const int root = plan_.tensors[size_t(r)].root;
        if (!allocated[size_t(root)]) fail("reads tensor " + std::to_string(r) + " before any op writes it");
        lastUse[size_t(root)] = i;
      }
      const int root = plan_.tensors[size_t(op.out)].root;
      if (!allocated[size_t(root)]) {
        allocated[size_t(root)] = true;
        plan_.ops[i].allocBefore.push_back(root);
        plan_.usesRows[size_t(plan_.tensors[size_t(root)].rows)] = true;
      }
      lastUse[size_t(root)] = i;
    }
    where_.clear();
    std::set<int> outputRoots;
    for (const auto& o : desc_.outputs) {
      if (o.second < 0 || size_t(o.second) >= n) continue;  // reported by checkOutputs
      outputRoots.insert(plan_.tensors[size_t(o.second)].root);
    }
    for (size_t r = 0; r < n; ++r) {
      if (!allocated[r]) continue;
      if (outputRoots.count(int(r))) plan_.outputRoots.push_back(int(r));
      else plan_.ops[lastUse[r]].freeAfter.push_back(int(r));
    }
    // Outputs must have been written.
    for (const auto& o : desc_.outputs)
      if (o.second >= 0 && size_t(o.second) < n && !allocated[size_t(plan_.tensors[size_t(o.second)].root)])
        fail("output '" + o.first + "' (tensor " + std::to_string(o.second) + ") is never written by an op");
  }

  void checkOutputs() {
    if (desc_.outputs.empty()) fail("program has no outputs");
    std::set<std::string> names;
    for (const auto& o : desc_.outputs) {
      if (o.first.empty()) fail("an output has an empty name");
      if (!names.insert(o.first).second) fail("output name '" + o.first + "' is used twice");
      if (o.second < 0 || size_t(o.second) >= plan_.tensors.size())
        fail("output '" + o.first + "': tensor " + std::to_string(o.second) + " is not a tensor of this program");
    }
  }
};

}  // namespace

ProgramPlan planProgram(const ProgramDesc& desc, const std::vector<WeightMeta>& weights, DType compute,
                        const PlanOptions& options) {
  return Planner(desc, weights, compute, options).run();
}

}  // namespace igb
