# node-gyp build of the CUDA addon. `.cu` sources go through nvcc by the rule below (sm_80 and sm_90 machine code
# plus compute_90 PTX for newer GPUs); cudart is linked statically, so the addon needs only the driver at run time.
# CUDA_HOME is set by scripts/build.sh (it finds the toolkit from nvcc); run `npm run build -w @hplb/backend-cuda`.
{
  'variables': {
    'cuda_home%': '<!(echo ${CUDA_HOME:-/usr/local/cuda})',
    'cuda_lib%': '<!(echo ${CUDA_LIB:-${CUDA_HOME:-/usr/local/cuda}/lib64})',
    'nvcc%': '<!(echo ${NVCC:-nvcc})',
  },
  'targets': [{
    'target_name': 'hplb_cuda',
    'sources': ['src/addon.cc', 'src/kernels.cu'],
    'include_dirs': [
      "<!(node -p \"require('node-addon-api').include_dir\")",
      '<(cuda_home)/include',
    ],
    'defines': ['NAPI_VERSION=8', 'NAPI_CPP_EXCEPTIONS', 'HPLB_CUDA_ARCHS="sm_80,sm_90,compute_90"'],
    'cflags!': ['-fno-exceptions'],
    'cflags_cc!': ['-fno-exceptions'],
    'cflags_cc': ['-std=c++17', '-O2'],
    'libraries': ['<(cuda_lib)/libcudart_static.a', '-ldl', '-lrt', '-lpthread'],
    'rules': [{
      'rule_name': 'nvcc',
      'extension': 'cu',
      'inputs': ['<(RULE_INPUT_PATH)', 'src/kernels.h', 'src/fragments.h'],
      'outputs': ['<(INTERMEDIATE_DIR)/<(RULE_INPUT_ROOT).cu.o'],
      'action': [
        '<(nvcc)', '-std=c++17', '-O3', '-Xcompiler', '-fPIC', '-I<(cuda_home)/include',
        '-gencode=arch=compute_80,code=sm_80',
        '-gencode=arch=compute_90,code=[sm_90,compute_90]',
        '-c', '<(RULE_INPUT_PATH)', '-o', '<@(_outputs)',
      ],
      'message': 'nvcc <(RULE_INPUT_PATH)',
      'process_outputs_as_sources': 1,
    }],
  }],
}
