# The model tools pick OpenBLAS's AVX-512 kernels on a CPU that has them (restarting themselves with
# OPENBLAS_CORETYPE=SkylakeX), report the core in --version, and never override a user's choice.
# merge and diff do no model arithmetic and report no BLAS at all.
flags=$(grep -m1 '^flags' /proc/cpuinfo)
avx512=yes
for f in avx512f avx512bw avx512dq avx512vl; do [[ " $flags " == *" $f "* ]] || avx512=no; done
(unset OPENBLAS_CORETYPE; kswap-eval --version) > default.txt
grep -q 'OpenBLAS core .*, [0-9]* threads' default.txt
if [ "$avx512" = yes ]; then grep -Eq 'core (SkylakeX|Cooperlake|SapphireRapids)' default.txt; fi
OPENBLAS_CORETYPE=Haswell kswap-learn --version | grep -q 'OpenBLAS core Haswell'
OPENBLAS_NUM_THREADS=1 kswap-forget --version | grep -q ', 1 threads'
for tool in kswap-merge kswap-diff; do ! "$tool" --version | grep -q OpenBLAS; done
