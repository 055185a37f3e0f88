// Node-API binding: converts JS values to the C++ engine's types (context.h, program.h) and back. No GPU logic
// here. run() is napi async work: the launches and the wait happen on a libuv worker thread, the JS thread
// only validates, queues, and finally wraps the result buffers (no copy: external ArrayBuffers).
//
// Errors: every exception from the engine becomes a JS Error whose `code` is igb::Error::code
// ('INVALID_ARGUMENT' for mistakes found before any launch — thrown synchronously —, 'CUDA_OOM' and
// 'CUDA_ERROR' — rejections of run()'s promise, or thrown by the synchronous calls).
#define NAPI_VERSION 8
#include <node_api.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "context.h"
#include "errors.h"

using igb::Error;
using igb::throwInvalid;

namespace {

// ---- small checked wrappers around napi calls (a failing napi call is a bug: report it) ----

void napiCheck(napi_env env, napi_status status, const char* what) {
  if (status == napi_ok) return;
  const napi_extended_error_info* info = nullptr;
  napi_get_last_error_info(env, &info);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {  // a JS exception (from a getter, say): clear it and report its message instead
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
  }
  throw Error("INTERNAL_ERROR", std::string("Node-API call failed: ") + what + ": " +
                                    (info && info->error_message ? info->error_message : "unknown"));
}
#define NAPI(expr) napiCheck(env, (expr), #expr)

napi_valuetype typeOf(napi_env env, napi_value v) {
  napi_valuetype t;
  NAPI(napi_typeof(env, v, &t));
  return t;
}

napi_value get(napi_env env, napi_value obj, const char* name) {
  napi_value v;
  NAPI(napi_get_named_property(env, obj, name, &v));
  return v;
}

bool present(napi_env env, napi_value obj, const char* name) {
  const napi_valuetype t = typeOf(env, get(env, obj, name));
  return t != napi_undefined && t != napi_null;
}

void requireObject(napi_env env, napi_value v, const std::string& what) {
  if (typeOf(env, v) != napi_object) throwInvalid(what + " must be an object");
}

double number(napi_env env, napi_value v, const std::string& what) {
  if (typeOf(env, v) != napi_number) throwInvalid(what + " must be a number");
  double d;
  NAPI(napi_get_value_double(env, v, &d));
  return d;
}

int64_t integer(napi_env env, napi_value v, const std::string& what) {
  const double d = number(env, v, what);
  if (!std::isfinite(d) || std::floor(d) != d || std::fabs(d) > 9007199254740991.0)
    throwInvalid(what + " must be an integer (got " + std::to_string(d) + ")");
  return int64_t(d);
}

int int32(napi_env env, napi_value v, const std::string& what) {
  const int64_t i = integer(env, v, what);
  if (i < INT32_MIN || i > INT32_MAX) throwInvalid(what + " is out of range");
  return int(i);
}

std::string string(napi_env env, napi_value v, const std::string& what) {
  if (typeOf(env, v) != napi_string) throwInvalid(what + " must be a string");
  size_t n = 0;
  NAPI(napi_get_value_string_utf8(env, v, nullptr, 0, &n));
  std::string s(n, '\0');
  NAPI(napi_get_value_string_utf8(env, v, &s[0], n + 1, &n));
  return s;
}

bool boolean(napi_env env, napi_value v, const std::string& what) {
  if (typeOf(env, v) != napi_boolean) throwInvalid(what + " must be a boolean");
  bool b;
  NAPI(napi_get_value_bool(env, v, &b));
  return b;
}

std::vector<napi_value> array(napi_env env, napi_value v, const std::string& what) {
  bool is = false;
  NAPI(napi_is_array(env, v, &is));
  if (!is) throwInvalid(what + " must be an array");
  uint32_t n = 0;
  NAPI(napi_get_array_length(env, v, &n));
  std::vector<napi_value> out(n);
  for (uint32_t i = 0; i < n; ++i) NAPI(napi_get_element(env, v, i, &out[i]));
  return out;
}

struct TypedArray {
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
};

TypedArray typedArray(napi_env env, napi_value v, const std::string& what) {
  bool is = false;
  NAPI(napi_is_typedarray(env, v, &is));
  if (!is) throwInvalid(what + " must be a typed array");
  TypedArray t;
  napi_value buffer;
  size_t offset = 0;
  NAPI(napi_get_typedarray_info(env, v, &t.type, &t.length, &t.data, &buffer, &offset));
  return t;
}

std::vector<int32_t> int32Array(napi_env env, napi_value v, const std::string& what) {
  const TypedArray t = typedArray(env, v, what);
  if (t.type != napi_int32_array) throwInvalid(what + " must be an Int32Array");
  const int32_t* p = static_cast<const int32_t*>(t.data);
  return std::vector<int32_t>(p, p + t.length);
}

napi_value makeNumber(napi_env env, double d) {
  napi_value v;
  NAPI(napi_create_double(env, d, &v));
  return v;
}

napi_value makeString(napi_env env, const std::string& s) {
  napi_value v;
  NAPI(napi_create_string_utf8(env, s.data(), s.size(), &v));
  return v;
}

void set(napi_env env, napi_value obj, const char* name, napi_value v) { NAPI(napi_set_named_property(env, obj, name, v)); }

napi_value makeError(napi_env env, const std::string& code, const std::string& message) {
  napi_value err;
  napi_create_error(env, makeString(env, code), makeString(env, message), &err);
  return err;
}

// Runs f, turning C++ exceptions into pending JS exceptions (with .code).
template <class F> napi_value guarded(napi_env env, F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    napi_throw(env, makeError(env, e.code, e.what()));
  } catch (const std::exception& e) {
    napi_throw_error(env, "INTERNAL_ERROR", e.what());
  }
  return nullptr;
}

// ---- argument parsing ----

igb::RowKind rowKind(const std::string& s, const std::string& what) {
  if (s == "tokens") return igb::RowKind::Tokens;
  if (s == "sequences") return igb::RowKind::Sequences;
  if (s == "headRows") return igb::RowKind::HeadRows;
  if (s == "hiddenRows") return igb::RowKind::HiddenRows;
  if (s == "groups") return igb::RowKind::Groups;
  throwInvalid(what + " must be 'tokens', 'sequences', 'headRows', 'hiddenRows' or 'groups' (got '" + s + "')");
}

igb::ProgramDesc parseProgram(napi_env env, napi_value p) {
  requireObject(env, p, "program");
  igb::ProgramDesc d;
  const auto tensors = array(env, get(env, p, "tensors"), "program.tensors");
  for (size_t i = 0; i < tensors.size(); ++i) {
    const std::string w = "program.tensors[" + std::to_string(i) + "]";
    napi_value t = tensors[i];
    requireObject(env, t, w);
    igb::TensorDesc td;
    td.cols = integer(env, get(env, t, "cols"), w + ".cols");
    if (present(env, t, "viewOf")) {
      td.viewOf = int32(env, get(env, t, "viewOf"), w + ".viewOf");
      if (td.viewOf < 0) throwInvalid(w + ".viewOf must be >= 0");
      td.col = integer(env, get(env, t, "col"), w + ".col");
    } else {
      td.rows = rowKind(string(env, get(env, t, "rows"), w + ".rows"), w + ".rows");
      const std::string dt = string(env, get(env, t, "dtype"), w + ".dtype");
      if (dt != "compute" && dt != "f32") throwInvalid(w + ".dtype must be 'compute' or 'f32' (got '" + dt + "')");
      td.f32 = dt == "f32";
    }
    d.tensors.push_back(td);
  }
  const auto ops = array(env, get(env, p, "ops"), "program.ops");
  for (size_t i = 0; i < ops.size(); ++i) {
    const std::string w = "program.ops[" + std::to_string(i) + "]";
    napi_value o = ops[i];
    requireObject(env, o, w);
    igb::OpDesc op;
    const std::string kind = string(env, get(env, o, "op"), w + ".op");
    auto i32 = [&](const char* name) { return int32(env, get(env, o, name), w + "." + name); };
    op.out = i32("out");
    if (kind == "embeddings") {
      op.kind = igb::OpKind::Embeddings;
      op.word = i32("word");
      op.position = i32("position");
      op.tokenType = i32("tokenType");
    } else if (kind == "linear") {
      op.kind = igb::OpKind::Linear;
      op.input = i32("input");
      for (napi_value v : array(env, get(env, o, "weights"), w + ".weights")) op.weights.push_back(int32(env, v, w + ".weights[]"));
      for (napi_value v : array(env, get(env, o, "biases"), w + ".biases")) op.biases.push_back(int32(env, v, w + ".biases[]"));
      const std::string act = present(env, o, "activation") ? string(env, get(env, o, "activation"), w + ".activation") : "none";
      if (act == "none") op.activation = igb::Activation::None;
      else if (act == "gelu") op.activation = igb::Activation::Gelu;
      else if (act == "tanh") op.activation = igb::Activation::Tanh;
      else throwInvalid(w + ".activation must be 'none', 'gelu' or 'tanh' (got '" + act + "')");
      if (present(env, o, "residual")) {
        op.residual = i32("residual");
        if (op.residual < 0) throwInvalid(w + ".residual must be a tensor id (>= 0)");
      }
    } else if (kind == "addLayerNorm" || kind == "layerNorm") {
      op.kind = kind == "addLayerNorm" ? igb::OpKind::AddLayerNorm : igb::OpKind::LayerNorm;
      op.input = i32("input");
      if (op.kind == igb::OpKind::AddLayerNorm) op.residual = i32("residual");
    } else if (kind == "attention") {
      op.kind = igb::OpKind::Attention;
      op.q = i32("q");
      op.k = i32("k");
      op.v = i32("v");
      op.heads = i32("heads");
    } else if (kind == "firstTokens") {
      op.kind = igb::OpKind::FirstTokens;
      op.input = i32("input");
    } else if (kind == "gatherRows") {
      op.kind = igb::OpKind::GatherRows;
      op.input = i32("input");
      const std::string rows = string(env, get(env, o, "rows"), w + ".rows");
      if (rows == "headRows") op.gather = igb::RowKind::HeadRows;
      else if (rows == "hiddenRows") op.gather = igb::RowKind::HiddenRows;
      else throwInvalid(w + ".rows must be 'headRows' or 'hiddenRows' (got '" + rows + "')");
    } else if (kind == "meanRows") {
      op.kind = igb::OpKind::MeanRows;
      op.input = i32("input");
    } else if (kind == "logSoftmax") {
      op.kind = igb::OpKind::LogSoftmax;
      op.input = i32("input");
    } else {
      throwInvalid(w + ".op: unknown op '" + kind + "'");
    }
    if (op.kind == igb::OpKind::Embeddings || op.kind == igb::OpKind::AddLayerNorm || op.kind == igb::OpKind::LayerNorm) {
      op.lnWeight = i32("lnWeight");
      op.lnBias = i32("lnBias");
      op.eps = number(env, get(env, o, "eps"), w + ".eps");
    }
    d.ops.push_back(op);
  }
  const auto outputs = array(env, get(env, p, "outputs"), "program.outputs");
  for (size_t i = 0; i < outputs.size(); ++i) {
    const std::string w = "program.outputs[" + std::to_string(i) + "]";
    requireObject(env, outputs[i], w);
    d.outputs.emplace_back(string(env, get(env, outputs[i], "name"), w + ".name"),
                           int32(env, get(env, outputs[i], "tensor"), w + ".tensor"));
  }
  return d;
}

igb::Batch parseBatch(napi_env env, napi_value b) {
  requireObject(env, b, "batch");
  igb::Batch batch;
  batch.inputIds = int32Array(env, get(env, b, "inputIds"), "batch.inputIds");
  batch.tokenTypeIds = int32Array(env, get(env, b, "tokenTypeIds"), "batch.tokenTypeIds");
  batch.seqLengths = int32Array(env, get(env, b, "seqLengths"), "batch.seqLengths");
  if ((batch.hasHeadRows = present(env, b, "headRows"))) batch.headRows = int32Array(env, get(env, b, "headRows"), "batch.headRows");
  if ((batch.hasHiddenRows = present(env, b, "hiddenRows")))
    batch.hiddenRows = int32Array(env, get(env, b, "hiddenRows"), "batch.hiddenRows");
  const bool offsets = present(env, b, "groupOffsets"), rows = present(env, b, "groupRows");
  if (offsets != rows) throwInvalid("batch: groupOffsets and groupRows go together");
  if ((batch.hasGroups = offsets)) {
    batch.groupOffsets = int32Array(env, get(env, b, "groupOffsets"), "batch.groupOffsets");
    batch.groupRows = int32Array(env, get(env, b, "groupRows"), "batch.groupRows");
  }
  return batch;
}

// ---- Context ----

struct ContextWrap {
  std::shared_ptr<igb::Context> ctx;
};

struct CallInfo {
  napi_value self = nullptr;
  std::vector<napi_value> args;
};

CallInfo callInfo(napi_env env, napi_callback_info info, size_t want) {
  CallInfo c;
  size_t argc = want;
  c.args.resize(want);
  NAPI(napi_get_cb_info(env, info, &argc, c.args.data(), &c.self, nullptr));
  for (size_t i = argc; i < want; ++i) NAPI(napi_get_undefined(env, &c.args[i]));
  return c;
}

std::shared_ptr<igb::Context> unwrap(napi_env env, napi_value self) {
  ContextWrap* w = nullptr;
  if (napi_unwrap(env, self, reinterpret_cast<void**>(&w)) != napi_ok || !w) throwInvalid("not a Context");
  return w->ctx;
}

napi_value contextNew(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value target;
    NAPI(napi_get_new_target(env, info, &target));
    if (!target) throwInvalid("Context must be called with new");
    CallInfo c = callInfo(env, info, 1);
    requireObject(env, c.args[0], "options");
    igb::ContextOptions o;
    o.device = present(env, c.args[0], "device") ? int32(env, get(env, c.args[0], "device"), "options.device") : 0;
    const std::string dt = string(env, get(env, c.args[0], "dtype"), "options.dtype");
    if (dt == "bf16") o.dtype = igb::DType::BF16;
    else if (dt == "fp16") o.dtype = igb::DType::F16;
    else if (dt == "fp32") o.dtype = igb::DType::F32;
    else throwInvalid("options.dtype must be 'bf16', 'fp16' or 'fp32' (got '" + dt + "')");
    if (present(env, c.args[0], "profile")) o.profile = boolean(env, get(env, c.args[0], "profile"), "options.profile");
    if (present(env, c.args[0], "maxPoolBytes")) {
      const int64_t m = integer(env, get(env, c.args[0], "maxPoolBytes"), "options.maxPoolBytes");
      if (m < 0) throwInvalid("options.maxPoolBytes must be >= 0");
      o.maxPoolBytes = uint64_t(m);
    }
    auto wrap = std::make_unique<ContextWrap>();
    wrap->ctx = std::make_shared<igb::Context>(o);
    NAPI(napi_wrap(
        env, c.self, wrap.get(),
        [](napi_env, void* data, void*) {
          // Drops the JS object's reference; runs still in flight hold their own, the last one frees the GPU state.
          delete static_cast<ContextWrap*>(data);
        },
        nullptr, nullptr));
    wrap.release();
    return c.self;
  });
}

napi_value uploadWeight(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    CallInfo c = callInfo(env, info, 5);
    auto ctx = unwrap(env, c.self);
    const TypedArray data = typedArray(env, c.args[0], "data");
    const std::string src = string(env, c.args[1], "sourceType");
    const int64_t rows = integer(env, c.args[2], "rows"), cols = integer(env, c.args[3], "cols");
    const std::string kind = string(env, c.args[4], "kind");
    igb::SourceType st;
    if (src == "f32") {
      if (data.type != napi_float32_array) throwInvalid("uploadWeight: sourceType 'f32' needs a Float32Array");
      st = igb::SourceType::F32;
    } else if (src == "f16" || src == "bf16") {
      if (data.type != napi_uint16_array) throwInvalid("uploadWeight: sourceType '" + src + "' needs a Uint16Array of raw bits");
      st = src == "f16" ? igb::SourceType::F16 : igb::SourceType::BF16;
    } else {
      throwInvalid("uploadWeight: sourceType must be 'f32', 'f16' or 'bf16' (got '" + src + "')");
    }
    if (kind != "matrix" && kind != "vector") throwInvalid("uploadWeight: kind must be 'matrix' or 'vector' (got '" + kind + "')");
    if (rows < 1 || cols < 1 || uint64_t(rows) * uint64_t(cols) != data.length)
      throwInvalid("uploadWeight: data has " + std::to_string(data.length) + " elements but rows x cols = " + std::to_string(rows) +
                   " x " + std::to_string(cols));
    return makeNumber(env, ctx->uploadWeight(data.data, st, rows, cols, kind == "vector"));
  });
}

napi_value compile(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    CallInfo c = callInfo(env, info, 1);
    auto ctx = unwrap(env, c.self);
    return makeNumber(env, ctx->compile(parseProgram(env, c.args[0])));
  });
}

struct RunWork {
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  std::shared_ptr<igb::Context> ctx;
  int program = 0;
  igb::Batch batch;
  std::vector<igb::Output> outputs;
  bool ok = false;
  std::string code, message;
};

void runExecute(napi_env, void* data) {
  // libuv worker thread: no napi calls here.
  auto* w = static_cast<RunWork*>(data);
  try {
    w->outputs = w->ctx->runAdmitted(w->program, w->batch);
    w->ok = true;
  } catch (const Error& e) {
    w->code = e.code;
    w->message = e.what();
  } catch (const std::exception& e) {
    w->code = "CUDA_ERROR";
    w->message = e.what();
  }
  w->batch = igb::Batch();
  w->ctx->release();
}

void runComplete(napi_env env, napi_status status, void* data) {
  std::unique_ptr<RunWork> w(static_cast<RunWork*>(data));
  napi_value result = nullptr;
  try {
    if (status != napi_ok) throw Error("CUDA_ERROR", "the run was cancelled");
    if (!w->ok) throw Error(w->code, w->message);
    NAPI(napi_create_object(env, &result));
    for (auto& o : w->outputs) {
      const size_t n = size_t(o.rows * o.cols);
      napi_value ab, arr;
      void* raw = o.data.get();
      if (n > 0 && napi_create_external_arraybuffer(
                       env, raw, n * sizeof(float), [](napi_env, void* p, void*) { delete[] static_cast<float*>(p); }, nullptr,
                       &ab) == napi_ok) {
        o.data.release();  // owned by the ArrayBuffer now
      } else {
        // Runtimes that forbid external buffers: copy.
        bool pending = false;
        napi_is_exception_pending(env, &pending);
        if (pending) {
          napi_value ignored;
          napi_get_and_clear_last_exception(env, &ignored);
        }
        void* dst = nullptr;
        NAPI(napi_create_arraybuffer(env, n * sizeof(float), &dst, &ab));
        if (n) std::memcpy(dst, raw, n * sizeof(float));
      }
      NAPI(napi_create_typedarray(env, napi_float32_array, n, ab, 0, &arr));
      set(env, result, o.name.c_str(), arr);
    }
    napi_resolve_deferred(env, w->deferred, result);
  } catch (const Error& e) {
    napi_reject_deferred(env, w->deferred, makeError(env, e.code, e.what()));
  }
  napi_delete_async_work(env, w->work);
}

napi_value run(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    CallInfo c = callInfo(env, info, 2);
    auto ctx = unwrap(env, c.self);
    auto w = std::make_unique<RunWork>();
    w->ctx = ctx;
    w->program = int32(env, c.args[0], "program");
    w->batch = parseBatch(env, c.args[1]);
    ctx->validate(w->program, w->batch);  // bad ids / row indices throw here, synchronously
    napi_value promise, name;
    NAPI(napi_create_promise(env, &w->deferred, &promise));
    NAPI(napi_create_string_utf8(env, "igbert.cuda.run", NAPI_AUTO_LENGTH, &name));
    NAPI(napi_create_async_work(env, nullptr, name, runExecute, runComplete, w.get(), &w->work));
    ctx->admit();
    const napi_status st = napi_queue_async_work(env, w->work);
    if (st != napi_ok) {
      ctx->release();
      napi_delete_async_work(env, w->work);
      NAPI(st);
    }
    w.release();
    return promise;
  });
}

napi_value memory(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    CallInfo c = callInfo(env, info, 0);
    const igb::MemoryInfo m = unwrap(env, c.self)->memory();
    napi_value o;
    NAPI(napi_create_object(env, &o));
    set(env, o, "weightBytes", makeNumber(env, double(m.weightBytes)));
    set(env, o, "poolBytes", makeNumber(env, double(m.poolBytes)));
    set(env, o, "peakPoolBytes", makeNumber(env, double(m.peakPoolBytes)));
    set(env, o, "deviceFreeBytes", makeNumber(env, double(m.deviceFreeBytes)));
    set(env, o, "deviceTotalBytes", makeNumber(env, double(m.deviceTotalBytes)));
    return o;
  });
}

napi_value lastProfile(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    CallInfo c = callInfo(env, info, 0);
    napi_value o;
    NAPI(napi_create_object(env, &o));
    for (const auto& [kind, ms] : unwrap(env, c.self)->lastProfile()) set(env, o, kind.c_str(), makeNumber(env, ms));
    return o;
  });
}

napi_value dispose(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    CallInfo c = callInfo(env, info, 0);
    unwrap(env, c.self)->dispose();
    napi_value u;
    NAPI(napi_get_undefined(env, &u));
    return u;
  });
}

napi_value probe(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value {
    const igb::ProbeInfo p = igb::probe();
    napi_value o, devices;
    NAPI(napi_create_object(env, &o));
    set(env, o, "driverVersion", makeNumber(env, p.driverVersion));
    set(env, o, "runtimeVersion", makeNumber(env, p.runtimeVersion));
    set(env, o, "cublasLtVersion", makeNumber(env, double(p.cublasLtVersion)));
    NAPI(napi_create_array_with_length(env, p.devices.size(), &devices));
    for (size_t i = 0; i < p.devices.size(); ++i) {
      const igb::DeviceInfo& d = p.devices[i];
      napi_value dv;
      NAPI(napi_create_object(env, &dv));
      set(env, dv, "index", makeNumber(env, d.index));
      set(env, dv, "name", makeString(env, d.name));
      set(env, dv, "computeCapability", makeString(env, d.computeCapability));
      set(env, dv, "totalBytes", makeNumber(env, double(d.totalBytes)));
      set(env, dv, "freeBytes", makeNumber(env, double(d.freeBytes)));
      set(env, dv, "multiprocessors", makeNumber(env, d.multiprocessors));
      NAPI(napi_set_element(env, devices, uint32_t(i), dv));
    }
    set(env, o, "devices", devices);
    return o;
  });
}

}  // namespace

NAPI_MODULE_INIT() {
  return guarded(env, [&]() -> napi_value {
    const napi_property_descriptor methods[] = {
        {"uploadWeight", nullptr, uploadWeight, nullptr, nullptr, nullptr, napi_default, nullptr},
        {"compile", nullptr, compile, nullptr, nullptr, nullptr, napi_default, nullptr},
        {"run", nullptr, run, nullptr, nullptr, nullptr, napi_default, nullptr},
        {"memory", nullptr, memory, nullptr, nullptr, nullptr, napi_default, nullptr},
        {"lastProfile", nullptr, lastProfile, nullptr, nullptr, nullptr, napi_default, nullptr},
        {"dispose", nullptr, dispose, nullptr, nullptr, nullptr, napi_default, nullptr},
    };
    napi_value ctor, probeFn;
    NAPI(napi_define_class(env, "Context", NAPI_AUTO_LENGTH, contextNew, nullptr, sizeof(methods) / sizeof(methods[0]), methods,
                           &ctor));
    NAPI(napi_create_function(env, "probe", NAPI_AUTO_LENGTH, probe, nullptr, &probeFn));
    set(env, exports, "Context", ctor);
    set(env, exports, "probe", probeFn);
    return exports;
  });
}
