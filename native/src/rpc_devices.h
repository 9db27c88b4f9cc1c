// RPC devices: llama.cpp's RPC backend (ggml-rpc) puts a model's layers on another process's devices over TCP,
// through the same non-host buffers and graph splits a GPU takes. node-llama-cpp's binaries do not include it;
// scripts/llama-tools.mjs builds libggml-rpc.so from the same source, linked against node-llama-cpp's
// libggml-base.so by file name, so that loading it here shares the one ggml already in the process.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "llama_api.h"

struct RpcDevice {
  ggml_backend_dev_t dev = nullptr;
  std::string name;      // llama.cpp's device name, as its load log names the device's buffers ("RPC0")
  std::string endpoint;  // host:port
  size_t free = 0, total = 0;
};

// Loads the backend library at `backendPath` (once per process) and returns every device of each server in
// `endpoints` (reachable: JavaScript checks before). Returns "" on success, else one line.
std::string RpcDevices(const std::string& backendPath, const std::vector<std::string>& endpoints, std::vector<RpcDevice>& out);
