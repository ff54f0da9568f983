package lrrn

import "github.com/lrrn/lrrn/asm"

// Blocked sweep: the unit-by-unit sweep of a wide layer block reads, for
// every unit, a whole row of H and the whole d×t block of the tile: a
// matrix-vector product per unit, limited by the loads of the block (256
// KiB at d = 1024, out of the first-level cache). blockedSweep performs
// the same Gauss–Seidel updates with most of the work in one matrix
// product per chunk of units.
//
// For the units I = i0 … i0+b−1 of a chunk, the update of unit i ∈ I is
//
//	z_i ← Π(z_i − (Σ_{p∉I} H_ip z_p + Σ_{p∈I} H_ip z_p − c_i)/H_ii)
//
// where, in a Gauss–Seidel sweep, z_p for p < i already holds its new
// value. The units outside I do not change while the chunk is swept: the
// units before it were updated by earlier chunks, those after it are
// not updated yet. So c'_I = c_I − H[I, ∁I]·z[∁I] is the same for all the
// chunk's updates and is one matrix product over the tile (computed as
// H[I, :]·z with the chunk's rows of z set to zero for the product, since
// H[I, ∁I] is not a dense matrix), and the chunk is then swept unit by
// unit with c' and the b×b diagonal block H[I, I]: an asm.UnitUpdate of
// length b on the b×t rows of the chunk, which stay in the first-level
// cache. In exact arithmetic this is the sweep unit by unit; in floating
// point only the order in which each gradient is summed differs. The
// certificates bound the inference error of whatever iterate inference
// returns (docs/math.md), so they need no change.
//
// Every input of the tile (a column) is computed by the same operations
// whatever the other columns hold: the products are per column, and the
// kernels' blocking depends only on the sizes.

// blockedChunk is the number of units per chunk, and blockedMinUnits the
// smallest layer swept in chunks. Measured with BenchmarkSweep (tiles of
// 64, AVX-512 and AVX2 alike): the unit-by-unit sweep is faster up to 128
// units, where the d×64 block still fits the 32 KiB first-level cache,
// the blocked one from 160 units on (1.2× there, 2× at 1024 units).
// Chunks of 8 to 32 units perform alike at 1024 units; 16 keeps the extra
// work (the chunk's own columns, multiplied by zero, and the in-chunk
// updates: 2·16/d of the sweep) small at 160 units.
const (
	blockedChunk    = 16
	blockedMinUnits = 160
)

// sweepChunk returns the chunk size of the blocked sweep for a layer of d
// units, or 0 for the unit-by-unit sweep.
func sweepChunk(d int) int {
	if d >= blockedMinUnits {
		return blockedChunk
	}
	return 0
}

// sweepTile runs one Gauss–Seidel sweep of block lp over a tile of t
// inputs: z is the d×t block (unit-major), c its right-hand side (which
// the blocked sweep overwrites).
func sweepTile(ws *Workspace, lp *layerPlan, z, c []float32, t int) {
	d := lp.d
	switch {
	case t == 1: // a single problem: the whole sweep in one call
		asm.Sweep(z, lp.h, c, lp.invH, d, lp.lo, lp.hi)
	case lp.chunk > 0:
		blockedSweep(z, c, ws.sweep, lp, t)
	default:
		for i := 0; i < d; i++ {
			asm.UnitUpdate(z, lp.h[i*d:i*d+d], c[i*t:i*t+t], i, d, t, lp.invH[i], lp.lo, lp.hi)
		}
	}
}

// blockedSweep runs one Gauss–Seidel sweep of block lp over a tile of t
// inputs: z is the d×t block, c its d×t right-hand side (overwritten:
// c'_I of every chunk), scratch 2·lp.chunk×t values.
func blockedSweep(z, c, scratch []float32, lp *layerPlan, t int) {
	d, h := lp.d, lp.h
	for i0 := 0; i0 < d; i0 += lp.chunk {
		b := min(lp.chunk, d-i0)
		zi, ci := z[i0*t:(i0+b)*t], c[i0*t:(i0+b)*t]
		saved, prod := scratch[:b*t], scratch[b*t:2*b*t]
		// c'_I = c_I − H[I, :]·z with the chunk's rows of z zeroed for
		// the product.
		copy(saved, zi)
		clear(zi)
		asm.Gemm(prod, h[i0*d:(i0+b)*d], z, b, d, t, false)
		copy(zi, saved)
		asm.Axpy(-1, prod, ci)
		for r := 0; r < b; r++ {
			i := i0 + r
			asm.UnitUpdate(zi, h[i*d+i0:i*d+i0+b], ci[r*t:r*t+t], r, b, t, lp.invH[i], lp.lo, lp.hi)
		}
	}
}
