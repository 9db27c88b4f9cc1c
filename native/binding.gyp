{
  "targets": [
    {
      "target_name": "moe_lens",
      "sources": ["src/addon.cpp", "src/llama_api.cpp", "src/router_capture.cpp", "src/rpc_devices.cpp", "src/session.cpp"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<(llama_src)/include",
        "<(llama_src)/ggml/include"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "MOE_LENS_LLAMA_RELEASE=\"<(llama_release)\""],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O2"],
      "libraries": ["-ldl"],
      "xcode_settings": { "GCC_ENABLE_CPP_EXCEPTIONS": "YES", "CLANG_CXX_LANGUAGE_STANDARD": "c++17" }
    }
  ]
}
