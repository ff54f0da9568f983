//go:build !amd64 || purego

package linalg

// dot4x2 returns the eight dot products of a0 … a3 with b0 and b1 (all of
// the same length): s[2r+c] = Σ a_r[p]·b_c[p], one chain per entry.
func dot4x2(a0, a1, a2, a3, b0, b1 []float64) [8]float64 {
	return dot4x2Go(a0, a1, a2, a3, b0, b1)
}
