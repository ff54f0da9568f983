//go:build (!amd64 && !arm64) || purego

package asm

func archTiers() []kernels { return nil }
