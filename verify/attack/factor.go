package attack

import (
	"math"
	"math/bits"
	"slices"

	"github.com/lrrn/lrrn/internal/linalg"
)

// factor is the Cholesky factor L (lower, rows stride apart) of H_FF for
// one free set F, its rows in the order pos (pos[r] is the unit of row r:
// ascending when factored afresh, not after updates). stride is N, so
// that rows can be added in place.
type factor struct {
	key    []uint64 // bit set of F
	pos    []int
	l      []float64
	stride int
}

// solve solves H_FF x = b in place; b is indexed like pos.
func (f *factor) solve(b []float64) { linalg.CholeskySolveStride(f.l, f.stride, len(f.pos), b) }

func (f *factor) clone() *factor {
	return &factor{key: slices.Clone(f.key), pos: slices.Clone(f.pos), l: slices.Clone(f.l), stride: f.stride}
}

// add appends unit u as the last row, in place: one forward substitution,
// O(n²). It reports false (f unusable) when the new pivot is not positive.
func (f *factor) add(e *Exact, u int) bool {
	n, N, st := len(f.pos), e.n, f.stride
	hu := e.h[u*N : u*N+N]
	r := f.l[n*st : n*st+n+1]
	for a, i := range f.pos {
		r[a] = hu[i]
	}
	for i := 0; i < n; i++ {
		s := r[i]
		for k, v := range f.l[i*st : i*st+i] {
			s -= v * r[k]
		}
		r[i] = s / f.l[i*st+i]
	}
	d := hu[u] - dot(r[:n], r[:n])
	if !(d > 0) {
		return false
	}
	r[n] = math.Sqrt(d)
	f.pos = append(f.pos, u)
	return true
}

// remove deletes the unit of row p, in place, O(n²): the rows of L without
// row p, M, satisfy M Mᵀ = H_{F',F'}; below row p each has one entry right
// of the diagonal, which Givens rotations of column pairs (j, j+1) —
// orthogonal, so M Mᵀ is unchanged — remove. It reports false (f
// unusable) when a pivot vanishes.
func (f *factor) remove(p int) bool {
	n, st := len(f.pos), f.stride
	m := n - 1
	for src := p + 1; src < n; src++ { // shift rows up
		copy(f.l[(src-1)*st:(src-1)*st+src+1], f.l[src*st:src*st+src+1])
	}
	for j := p; j < m; j++ {
		a, b := f.l[j*st+j], f.l[j*st+j+1]
		r := math.Hypot(a, b)
		if !(r > 0) {
			return false
		}
		c, s := a/r, b/r
		for i := j; i < m; i++ {
			x, y := f.l[i*st+j], f.l[i*st+j+1]
			f.l[i*st+j] = c*x + s*y
			f.l[i*st+j+1] = -s*x + c*y
		}
	}
	f.pos = slices.Delete(f.pos, p, p+1)
	return true
}

// factorCache keeps the factors of the last few faces (most recent first):
// successive evaluations of an attack mostly stay on one face or move
// between nearby ones. A face a few units away from a cached one is
// reached by row updates (O(N²) each) instead of a new N³/3
// factorisation.
type factorCache struct {
	entries []*factor
	cap     int
	key     []uint64
	misses  int // factorisations computed
	updates int // faces reached by row updates
}

func newFactorCache(n int) *factorCache {
	c := 1
	if n > 0 {
		c = max(1, min(8, (64<<20)/(8*n*n)))
	}
	return &factorCache{cap: c, key: make([]uint64, (n+63)/64)}
}

// maxUpdates is the largest number of units entering or leaving the face
// that get reaches by updates rather than a fresh factorisation: each
// update costs up to about 3n² operations against n³/3 for the whole
// factor, so at most n/16 of them (half the cost), and at least one.
func maxUpdates(n int) int { return max(1, n/16) }

// get returns the factor for the free set (ascending): cached, updated
// from the nearest cached face, or factored afresh; nil when H_FF is not
// numerically positive definite.
func (c *factorCache) get(e *Exact, free []int) *factor {
	clear(c.key)
	for _, i := range free {
		c.key[i/64] |= 1 << (i % 64)
	}
	best, bestD := -1, math.MaxInt
	for idx, f := range c.entries {
		d := 0
		for w, v := range f.key {
			d += bits.OnesCount64(v ^ c.key[w])
		}
		if d < bestD {
			best, bestD = idx, d
		}
	}
	if best >= 0 && bestD == 0 {
		f := c.entries[best]
		copy(c.entries[1:best+1], c.entries[:best])
		c.entries[0] = f
		return f
	}
	var f *factor
	if best >= 0 && bestD <= maxUpdates(len(free)) {
		base := c.entries[best]
		if len(c.entries) == c.cap && best == len(c.entries)-1 {
			// base would be evicted: update it in place.
			c.entries = c.entries[:best]
		} else {
			base = base.clone()
		}
		if c.update(e, base, free) {
			f = base
		}
	}
	if f == nil {
		if f = c.fresh(e, free); f == nil {
			return nil
		}
	}
	f.key = slices.Clone(c.key)
	if len(c.entries) < c.cap {
		c.entries = append(c.entries, nil)
	}
	copy(c.entries[1:], c.entries[:len(c.entries)-1])
	c.entries[0] = f
	return f
}

// update moves f to the free set (c.key) by row removals and additions, in
// place; false when one of them fails (f is then unusable).
func (c *factorCache) update(e *Exact, f *factor, free []int) bool {
	old := slices.Clone(f.key)
	for p := len(f.pos) - 1; p >= 0; p-- {
		if u := f.pos[p]; c.key[u/64]&(1<<(u%64)) == 0 && !f.remove(p) {
			return false
		}
	}
	for _, u := range free {
		if old[u/64]&(1<<(u%64)) == 0 && !f.add(e, u) {
			return false
		}
	}
	c.updates++
	return true
}

// fresh factors H_FF for the free set.
func (c *factorCache) fresh(e *Exact, free []int) *factor {
	c.misses++
	n, N := len(free), e.n
	a := make([]float64, n*n)
	for r, i := range free {
		row := e.h[i*N : i*N+N]
		for q, j := range free[:r+1] {
			a[r*n+q] = row[j]
		}
	}
	if linalg.Cholesky(a, n, nil) != nil {
		return nil
	}
	f := &factor{pos: slices.Clone(free), l: make([]float64, N*N), stride: N}
	for r := 0; r < n; r++ {
		copy(f.l[r*N:r*N+r+1], a[r*n:r*n+r+1])
	}
	return f
}
