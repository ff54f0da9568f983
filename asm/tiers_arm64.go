//go:build !purego

package asm

// archTiers returns the arm64 tiers this CPU supports, best first.
// Placeholder until the assembly lands: only the generic tier.
func archTiers() []kernels { return nil }
