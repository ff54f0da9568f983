//go:build !purego

package asm

import "github.com/klauspost/cpuid/v2"

// archTiers returns the amd64 tiers this CPU supports, best first. cpuid
// reports a feature only when the OS also saves its registers (XCR0), so
// AVX-512 is offered only where the ZMM and opmask state is enabled. The
// AVX-512 kernels also use VEX instructions (VHADDPS, VEXTRACTF128), hence
// AVX2 and FMA3 are required with F and VL; they use nothing from BW or DQ.
func archTiers() []kernels {
	var ts []kernels
	if cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3, cpuid.AVX512F, cpuid.AVX512VL) {
		ts = append(ts, avx512Kernels)
	}
	if cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3) {
		ts = append(ts, avx2Kernels)
	}
	return ts
}
