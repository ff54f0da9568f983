//go:build linux

// Package gonum benchmarks lrrn's matrix-vector kernel (asm.MatVec, every
// tier of this CPU) against gonum's float32 BLAS (blas32.Gemv, i.e. Sgemv)
// on the model's shapes. It is a separate module so that gonum never enters
// lrrn's own go.mod:
//
//	cd bench/gonum && go test -run XXX -bench . -benchtime 0.5s
package gonum
