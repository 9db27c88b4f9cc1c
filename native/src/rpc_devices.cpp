#include "rpc_devices.h"

#include <dlfcn.h>

#include <mutex>

namespace {

using AddServer = ggml_backend_reg_t (*)(const char* endpoint);

std::mutex g_mutex;
AddServer g_addServer = nullptr;

}  // namespace

std::string RpcDevices(const std::string& backendPath, const std::vector<std::string>& endpoints, std::vector<RpcDevice>& out) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!g_addServer) {
    // Kept loaded for the life of the process: the devices and their connections live in the library.
    void* lib = dlopen(backendPath.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) return std::string("cannot load the RPC backend: ") + dlerror();
    g_addServer = reinterpret_cast<AddServer>(dlsym(lib, "ggml_backend_rpc_add_server"));
    if (!g_addServer) return "the RPC backend " + backendPath + " lacks ggml_backend_rpc_add_server";
  }
  for (const auto& endpoint : endpoints) {
    // One registry per server, cached by ggml-rpc (a second model on the same server reuses its devices). Not
    // registered with ggml: the devices are passed to this model only, and other loads in the process see none.
    ggml_backend_reg_t reg = g_addServer(endpoint.c_str());
    if (!reg) return "the RPC server at " + endpoint + " has no devices";
    for (size_t i = 0, n = g_llama.ggml_backend_reg_dev_count(reg); i < n; i++) {
      RpcDevice d;
      d.dev = g_llama.ggml_backend_reg_dev_get(reg, i);
      d.name = g_llama.ggml_backend_dev_name(d.dev);
      d.endpoint = endpoint;
      g_llama.ggml_backend_dev_memory(d.dev, &d.free, &d.total);
      out.push_back(std::move(d));
    }
  }
  return "";
}
