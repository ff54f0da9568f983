package asm

import (
	"fmt"
	"os"
	"strings"
)

// A Tier names one implementation of the kernels.
type Tier string

// The implementation tiers. Generic is the pure-Go reference and is always
// available.
const (
	Generic Tier = "generic"
	AVX2    Tier = "avx2"   // amd64: AVX2 and FMA3, 256-bit
	AVX512  Tier = "avx512" // amd64: AVX-512 F and VL, 512-bit with masked tails
	NEON    Tier = "neon"   // arm64: Advanced SIMD, 128-bit
)

// EnvVar is the environment variable that forces a tier at start-up.
const EnvVar = "LRRN_SIMD"

// kernels is one tier's set of implementations. The exported functions have
// checked lengths and dealt with empty inputs before calling them.
type kernels struct {
	tier       Tier
	dot        func(x, y []float32) float32
	axpy       func(alpha float32, x, y []float32)
	matVec     func(y, a []float32, m, n int, x []float32, acc bool)
	matTVec    func(y, a []float32, m, n int, x []float32, acc bool)
	clamp      func(x []float32, lo, hi float32)
	gemm       func(c, a, b []float32, m, k, n int, acc bool)
	gemmNT     func(c, a, b []float32, m, k, n int, acc bool)
	unitUpdate func(zs, h, ci []float32, row, k, t int, invHii, lo, hi float32)
	sweep      func(z, h, c, invH []float32, d int, lo, hi float32)
	dot4x2     func(a0, a1, a2, a3, b0, b1 []float64) [8]float64
	sparseAxpy func(y, w []float32, d int, idx []int32, val []float32)
	nonzeros   func(idx []int32, val []float32, x []float32) int
}

var genericKernels = kernels{
	tier:       Generic,
	dot:        dotGeneric,
	axpy:       axpyGeneric,
	matVec:     matVecGeneric,
	matTVec:    matTVecGeneric,
	clamp:      clampGeneric,
	gemm:       gemmGeneric,
	gemmNT:     gemmNTGeneric,
	unitUpdate: unitUpdateGeneric,
	sweep:      sweepGeneric,
	dot4x2:     dot4x2Generic,
	sparseAxpy: sparseAxpyGeneric,
	nonzeros:   nonzerosGeneric,
}

// tiers lists the implementations this build and CPU can run, best first.
// Architecture files append to it in init (see tiers_*.go); Generic is last.
var tiers []kernels

// impl is the tier in use.
var impl kernels

func init() {
	tiers = append(archTiers(), genericKernels)
	impl = tiers[0]
	if want := strings.TrimSpace(os.Getenv(EnvVar)); want != "" {
		if err := SetTier(Tier(strings.ToLower(want))); err != nil {
			fmt.Fprintf(os.Stderr, "lrrn: %s=%s: %v; using %s\n", EnvVar, want, err, impl.tier)
		}
	}
}

// CurrentTier returns the tier in use.
func CurrentTier() Tier { return impl.tier }

// Available returns the tiers this build can run on this CPU, best first;
// the last is always Generic.
func Available() []Tier {
	out := make([]Tier, len(tiers))
	for i, k := range tiers {
		out[i] = k.tier
	}
	return out
}

// SetTier switches the kernels to the named tier. It returns an error and
// leaves the tier unchanged when this CPU or build cannot run it. It is
// meant for start-up and tests: it must not be called while kernels run.
func SetTier(t Tier) error {
	for _, k := range tiers {
		if k.tier == t {
			impl = k
			return nil
		}
	}
	switch t {
	case Generic, AVX2, AVX512, NEON:
		return fmt.Errorf("tier %q is not supported by this CPU or build (available: %v)", t, Available())
	}
	return fmt.Errorf("unknown tier %q (known: generic, avx2, avx512, neon)", t)
}
