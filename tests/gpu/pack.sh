#!/usr/bin/env bash
# Prepare the GPU check for a machine that has CUDA but not tcet's other build
# dependencies (the lent GPU machines: nvcc and cuDNN/cuBLAS as pip wheels, no
# cmocka, HDF5, MPI or OpenBLAS).  Run it where tcet builds; it writes .gpu/:
#   bin/            tcet and the gpu test binaries (CUDA ON, sm_ARCH, Release, -Werror)
#   libs.tar.xz     every shared library they load except glibc's and CUDA's
#   stub/libmpi.so.40  a single-process MPI (tests/gpu/mpistub), for when the
#                   carried Open MPI does not load there (a one-process check needs no MPI)
# then tests/gpu/run.sh on the GPU machine uses .gpu/ (device tool: carry ".gpu").
# Usage: tests/gpu/pack.sh   (env: ARCH=90, BUILD=build-gpu-pack)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build-gpu-pack}
ARCH=${ARCH:-90}
TESTS=(test_cuda_ops test_cuda_golden test_cuda_f16 test_cuda_lanes test_cuda_staging)
GEN=()
command -v ninja >/dev/null 2>&1 && GEN=(-G Ninja)
cmake -S "$ROOT" -B "$BUILD" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release -DTCET_WERROR=ON -DTCET_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES="$ARCH" >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target tcet "${TESTS[@]}"
OUTD=$ROOT/.gpu
rm -rf "$OUTD"
mkdir -p "$OUTD/bin" "$OUTD/stub"
cp "$BUILD/tcet" "$OUTD/bin/"
for t in "${TESTS[@]}"; do cp "$BUILD/tests/$t" "$OUTD/bin/"; done
# glibc and the C++/GCC runtimes are the machine's; CUDA's come from its toolkit and wheels
ldd "$OUTD"/bin/* | awk '/=> \//{print $3}' | sort -u \
    | grep -v -E '/(libc|libm|libdl|libpthread|librt|libgcc_s|libstdc\+\+|ld-linux[^/]*)\.so|/libcud|/libcublas' \
    > "$OUTD/libs.txt"
# flat archive of the real files under their sonames
tar -chJf "$OUTD/libs.tar.xz" --transform='s|.*/||' -T "$OUTD/libs.txt" 2>/dev/null
MPI_INC=$(dirname "$(find /usr/lib /usr/include -name mpi.h -path '*openmpi*' 2>/dev/null | head -1)")
cc -std=c17 -O2 -fPIC -shared -Wall -Wextra -Werror -I"$MPI_INC" -Wl,-soname,libmpi.so.40 \
    -o "$OUTD/stub/libmpi.so.40" "$ROOT/tests/gpu/mpistub/mpi_stub.c" "$ROOT/tests/gpu/mpistub/mpi_stub_data.c"
# the bundle must load with the stub in place of Open MPI (checked here, where it can be)
LD_LIBRARY_PATH="$OUTD/stub${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$OUTD/bin/tcet" --version >/dev/null
du -sh "$OUTD"
echo "ready: carry \".gpu\" to the GPU machine and run tests/gpu/run.sh there"
