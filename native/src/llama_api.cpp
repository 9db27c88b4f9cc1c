#include "llama_api.h"

#include <dlfcn.h>

#include <string>
#include <vector>

#if defined(__APPLE__)
#include <mach-o/dyld.h>
#else
#include <link.h>
#endif

LlamaApi g_llama;

namespace {

std::string BaseName(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::vector<std::string> LoadedObjects() {
  std::vector<std::string> paths;
#if defined(__APPLE__)
  for (uint32_t i = 0, n = _dyld_image_count(); i < n; i++) paths.emplace_back(_dyld_get_image_name(i));
#else
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        if (info->dlpi_name && info->dlpi_name[0]) static_cast<std::vector<std::string>*>(data)->emplace_back(info->dlpi_name);
        return 0;
      },
      &paths);
#endif
  return paths;
}

// libllama.v0.4.0.so, libllama.cuda.v0.4.0.so, libllama.dylib, ... but not libllama-common.
bool IsLibLlama(const std::string& name) {
  return name.rfind("libllama", 0) == 0 && name.rfind("libllama-", 0) != 0 && name.find(".so") != std::string::npos
      || name.rfind("libllama", 0) == 0 && name.find(".dylib") != std::string::npos && name.rfind("libllama-", 0) != 0;
}

bool IsGgmlBase(const std::string& name) { return name.rfind("libggml-base", 0) == 0; }
bool IsGgmlCpu(const std::string& name) { return name.rfind("libggml-cpu", 0) == 0; }

}  // namespace

std::string LoadLlamaApi(const std::string& expectedRelease, LlamaApi& api) {
  std::string llamaPath, ggmlBasePath, ggmlCpuPath;
  for (const auto& path : LoadedObjects()) {
    const auto name = BaseName(path);
    if (llamaPath.empty() && IsLibLlama(name)) llamaPath = path;
    if (ggmlBasePath.empty() && IsGgmlBase(name)) ggmlBasePath = path;
    if (ggmlCpuPath.empty() && IsGgmlCpu(name)) ggmlCpuPath = path;
  }
  if (llamaPath.empty() || ggmlBasePath.empty())
    return "node-llama-cpp has not loaded libllama yet (call getLlama() before loading the MoE Lens addon)";
  if (!expectedRelease.empty() && BaseName(llamaPath).find(expectedRelease) == std::string::npos)
    return "llama.cpp release mismatch: the MoE Lens addon was built for " + expectedRelease + " but node-llama-cpp loaded " +
           BaseName(llamaPath) + "; rebuild the addon with `npm run build:native`";

  void* llama = dlopen(llamaPath.c_str(), RTLD_NOW | RTLD_NOLOAD);
  void* ggml = dlopen(ggmlBasePath.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (!llama || !ggml) return std::string("cannot open the loaded llama.cpp libraries: ") + dlerror();

  std::string missing;
#define MOE_LENS_RESOLVE(handle, name)                                          \
  api.name = reinterpret_cast<decltype(api.name)>(dlsym(handle, #name));        \
  if (!api.name) missing += std::string(missing.empty() ? "" : ", ") + #name;
#define MOE_LENS_RESOLVE_LLAMA(name) MOE_LENS_RESOLVE(llama, name)
#define MOE_LENS_RESOLVE_GGML(name) MOE_LENS_RESOLVE(ggml, name)
  MOE_LENS_LLAMA_FUNCTIONS(MOE_LENS_RESOLVE_LLAMA)
  MOE_LENS_GGML_FUNCTIONS(MOE_LENS_RESOLVE_GGML)
#undef MOE_LENS_RESOLVE_GGML
#undef MOE_LENS_RESOLVE_LLAMA
#undef MOE_LENS_RESOLVE
  if (!missing.empty()) return "the loaded llama.cpp lacks functions the addon needs: " + missing;
  if (!ggmlCpuPath.empty()) {
    if (void* cpu = dlopen(ggmlCpuPath.c_str(), RTLD_NOW | RTLD_NOLOAD)) {
      api.ggml_threadpool_new = reinterpret_cast<decltype(api.ggml_threadpool_new)>(dlsym(cpu, "ggml_threadpool_new"));
      api.ggml_threadpool_free = reinterpret_cast<decltype(api.ggml_threadpool_free)>(dlsym(cpu, "ggml_threadpool_free"));
    }
  }
  return "";
}
