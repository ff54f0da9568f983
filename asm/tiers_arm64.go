//go:build !purego

package asm

// archTiers returns the arm64 tiers, best first: NEON.
//
// NEON is chosen without asking cpuid. Advanced SIMD is a mandatory part of
// ARMv8-A, and Go's own arm64 runtime and standard library (internal/bytealg,
// runtime memmove) use it unconditionally, so any machine that runs this
// binary has it. Gating on cpuid.CPU.Supports(cpuid.ASIMD) would add nothing
// but a way to lose the tier where feature detection is incomplete (cpuid
// reads HWCAP on Linux, including under qemu-aarch64, where it does report
// ASIMD; TestNEONSelected checks that on Linux). LRRN_SIMD=generic still
// selects the reference.
func archTiers() []kernels { return []kernels{neonKernels} }
