# The optional CUDA backend. CHATFORGE_CUDA defaults to ON when nvcc is found (on PATH,
# $CUDACXX or /usr/local/cuda/bin); without it nothing here is built and every other
# target builds and tests as before. With it:
#   cf_cuda       static library of src/ops/cuda/*.cu and *.cc (kernels, cuBLASLt GEMMs), linked by
#                 cf_ops and cf_model; defines CHATFORGE_HAS_CUDA for everything above it
#   CF_NCCL_LIBS  NCCL + cudart for cf_dist when the toolkit ships NCCL (CHATFORGE_HAS_NCCL)
# Targets sm_80 (A100) and sm_90 (H100/H200) unless CMAKE_CUDA_ARCHITECTURES is given.
include(CheckLanguage)
if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
  set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
endif()
check_language(CUDA)
set(_cf_cuda_default OFF)
if(CMAKE_CUDA_COMPILER)
  set(_cf_cuda_default ON)
endif()
option(CHATFORGE_CUDA "Build the CUDA backend (default: ON when nvcc is found)" ${_cf_cuda_default})
set(CF_NCCL_LIBS)
if(NOT CHATFORGE_CUDA)
  message(STATUS "CUDA backend: off")
  return()
endif()
if(NOT CMAKE_CUDA_COMPILER)
  message(FATAL_ERROR "CHATFORGE_CUDA=ON but no CUDA compiler was found (set CUDACXX or put nvcc on PATH)")
endif()
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES 80 90)
endif()
enable_language(CUDA)
set(CMAKE_CUDA_STANDARD 17)  # CMake 3.25 knows no CUDA20 flags for nvcc 13
set(CMAKE_CUDA_STANDARD_REQUIRED ON)
find_package(CUDAToolkit REQUIRED)

file(GLOB _cf_cuda_srcs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/ops/cuda/*.cu ${CMAKE_SOURCE_DIR}/src/ops/cuda/*.cc)
add_library(cf_cuda STATIC ${_cf_cuda_srcs})
set_target_properties(cf_cuda PROPERTIES UNITY_BUILD OFF)  # file by file, as cf_ops (CMakeLists.txt)
target_include_directories(cf_cuda PUBLIC ${CMAKE_SOURCE_DIR}/src)
# cudart is linked statically: it loads the driver (libcuda) at run time, so a binary
# built here starts on a machine without a GPU and reports "no CUDA device" cleanly.
# cuBLASLt is dlopen'ed at the first GEMM (src/ops/cuda/matmul.cu): linked, its start-up
# initialisation would cost every chatforge invocation ~0.2 s.
target_link_libraries(cf_cuda PUBLIC cf_core CUDA::cudart_static ${CMAKE_DL_LIBS})
target_compile_definitions(cf_cuda PUBLIC CHATFORGE_HAS_CUDA=1)
target_compile_definitions(cf_cuda PRIVATE CF_CUBLASLT_SOVERSION="${CUDAToolkit_VERSION_MAJOR}"
  CF_CUBLASLT_DIR="${CUDAToolkit_LIBRARY_DIR}")
list(APPEND CMAKE_BUILD_RPATH ${CUDAToolkit_LIBRARY_DIR})  # dlopen searches the executable's runpath
target_compile_options(cf_cuda PRIVATE
  $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -Xcompiler=-Wall,-Wextra,-Wno-unused-parameter>)
set_target_properties(cf_cuda PROPERTIES CUDA_SEPARABLE_COMPILATION OFF POSITION_INDEPENDENT_CODE ON)

find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
find_library(NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR})
if(NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
  add_library(cf_nccl INTERFACE)
  target_include_directories(cf_nccl INTERFACE ${NCCL_INCLUDE_DIR} ${CUDAToolkit_INCLUDE_DIRS})
  target_link_libraries(cf_nccl INTERFACE ${NCCL_LIBRARY} CUDA::cudart_static)
  target_compile_definitions(cf_nccl INTERFACE CHATFORGE_HAS_NCCL=1)
  set(CF_NCCL_LIBS cf_nccl)
  message(STATUS "CUDA backend: on (${CMAKE_CUDA_COMPILER}, sm ${CMAKE_CUDA_ARCHITECTURES}), NCCL ${NCCL_LIBRARY}")
else()
  message(STATUS "CUDA backend: on (${CMAKE_CUDA_COMPILER}, sm ${CMAKE_CUDA_ARCHITECTURES}), no NCCL")
endif()
