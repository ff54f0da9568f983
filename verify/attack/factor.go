package attack

import (
	"math"
	"math/bits"
	"slices"

	"github.com/lrrn/lrrn/internal/linalg"
)

// factor is the Cholesky factor L (lower, row-major n×n) of H_FF for one
// free set F, its rows in the order pos (pos[r] is the unit of row r:
// ascending when factored afresh, not after updates).
type factor struct {
	key []uint64 // bit set of F
	pos []int
	l   []float64
}

// solve solves H_FF x = b in place; b is indexed like pos.
func (f *factor) solve(b []float64) { linalg.CholeskySolve(f.l, len(f.pos), b) }

// added returns the factor of F ∪ {u}, u appended as the last row: one
// forward substitution, O(n²). nil when the new pivot is not positive.
func (f *factor) added(e *Exact, u int) *factor {
	n, N := len(f.pos), e.n
	hu := e.h[u*N : u*N+N]
	r := make([]float64, n)
	for a, i := range f.pos {
		r[a] = hu[i]
	}
	for i := 0; i < n; i++ {
		s := r[i]
		for k, v := range f.l[i*n : i*n+i] {
			s -= v * r[k]
		}
		r[i] = s / f.l[i*n+i]
	}
	d := hu[u] - dot(r, r)
	if !(d > 0) {
		return nil
	}
	m := n + 1
	l := make([]float64, m*m)
	for i := 0; i < n; i++ {
		copy(l[i*m:i*m+i+1], f.l[i*n:i*n+i+1])
	}
	copy(l[n*m:n*m+n], r)
	l[n*m+n] = math.Sqrt(d)
	return &factor{pos: append(slices.Clone(f.pos), u), l: l}
}

// removed returns the factor of F without the unit of row p, O(n²): the
// rows of L without row p, M, satisfy M Mᵀ = H_{F',F'}; below row p each
// has one entry right of the diagonal, which Givens rotations of column
// pairs (j, j+1) — orthogonal, so M Mᵀ is unchanged — remove. nil when a
// pivot vanishes.
func (f *factor) removed(p int) *factor {
	n := len(f.pos)
	m := n - 1
	w := make([]float64, m*n) // M, stride n
	for i, src := 0, 0; src < n; src++ {
		if src == p {
			continue
		}
		copy(w[i*n:i*n+src+1], f.l[src*n:src*n+src+1])
		i++
	}
	for j := p; j < m; j++ {
		a, b := w[j*n+j], w[j*n+j+1]
		r := math.Hypot(a, b)
		if !(r > 0) {
			return nil
		}
		c, s := a/r, b/r
		for i := j; i < m; i++ {
			x, y := w[i*n+j], w[i*n+j+1]
			w[i*n+j] = c*x + s*y
			w[i*n+j+1] = -s*x + c*y
		}
	}
	l := make([]float64, m*m)
	for i := 0; i < m; i++ {
		copy(l[i*m:i*m+i+1], w[i*n:i*n+i+1])
	}
	return &factor{pos: slices.Delete(slices.Clone(f.pos), p, p+1), l: l}
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
// that get reaches by updates (each O(n²) with an n² copy) rather than a
// fresh factorisation (n³/3): at most 32, and at most n/8.
func maxUpdates(n int) int { return min(32, n/8) }

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
		f = c.update(e, c.entries[best], free)
	}
	if f == nil {
		f = c.fresh(e, free)
		if f == nil {
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

// update returns base's factor moved to the free set by row removals and
// additions, nil when one of them fails.
func (c *factorCache) update(e *Exact, base *factor, free []int) *factor {
	f := base
	for p := len(f.pos) - 1; p >= 0 && f != nil; p-- {
		if u := f.pos[p]; c.key[u/64]&(1<<(u%64)) == 0 {
			f = f.removed(p)
		}
	}
	for _, u := range free {
		if f == nil {
			return nil
		}
		if base.key[u/64]&(1<<(u%64)) == 0 {
			f = f.added(e, u)
		}
	}
	if f != nil {
		c.updates++
	}
	return f
}

// fresh factors H_FF for the free set.
func (c *factorCache) fresh(e *Exact, free []int) *factor {
	c.misses++
	n, N := len(free), e.n
	l := make([]float64, n*n)
	for r, i := range free {
		row := e.h[i*N : i*N+N]
		for q, j := range free[:r+1] {
			l[r*n+q] = row[j]
		}
	}
	if linalg.Cholesky(l, n) != nil {
		return nil
	}
	return &factor{pos: slices.Clone(free), l: l}
}
