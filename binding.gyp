{
  "targets": [
    {
      "target_name": "mqttsn",
      "sources": ["native/addon.cc", "native/codec.cc", "native/timers.cc",
                  "native/dtls_bio.cc", "native/dtls_context.cc", "native/dtls_connection.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-exceptions"],
      "xcode_settings": { "CLANG_CXX_LANGUAGE_STANDARD": "c++17", "GCC_ENABLE_CPP_EXCEPTIONS": "NO" },
      "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 0 } },
      "conditions": [["OS=='linux'", { "sources": ["native/udp.cc"], "defines": ["MQTTSN_UDP"] }]]
    }
  ]
}
