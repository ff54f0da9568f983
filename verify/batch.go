package verify

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/lrrn/lrrn/lrrn"
)

// scratch is one goroutine's working memory.
type scratch struct {
	ws   *lrrn.Workspace
	st   *lrrn.States
	xp   []float32   // TileSize×d0: a partial tile's inputs, zero-padded
	xc   []float32   // TileSize×chunk: one chunk of the inputs
	v    []float32   // TileSize×d1: the input parts W_0 x
	xn   []float64   // TileSize: bounds of ‖x‖
	prod [][]float32 // per layer j: TileSize×width_j (see layerProd)
	aux  []aux
	wide []float64 // outputs of models with many classes
	// the float64 residual (refine.go): the operands of one block for the
	// tile (TileSize rows of its refBlock.n), and every block's gradients
	// for the tile (TileSize×d_k from gOff[k])
	y64, g64 []float64
	gOff     []int
	dbg      *debugInfo // tests: per-block residual norms of the last input

	// The input part (see inputProduct): the pairwise sums of the chunks'
	// products over the tile (TileSize×d1), which inputs take the sparse
	// path (TileSize), their nonzero pixels (positions and values), where
	// each input's start (TileSize) and where each of its chunks' end
	// (TileSize×nchunk).
	sums   pairSum
	sparse []bool
	nzIdx  []int32
	nzVal  []float32
	nzAt   []int
	nzEnd  []int

	// Passes as needed: queue holds the tiles of inputs waiting for their
	// next round (one per round from → to passes that has inputs), out
	// the certificates of the call being served (queue entries index it).
	queue []*passQueue
	runs  []*passQueue // the rounds of a flush step (flush; batchJob.runs for worker 0), kept across calls
	out   []Certificate
	one   [1]Certificate // Certify's
	// final, when set (tests), is called with each input's final iterate.
	final func(i int, st *lrrn.States, j int)
}

// debugInfo receives, when set, the per-block residual norms ‖ĝ_k‖ and
// their rounding error bounds of the last input evaluated.
type debugInfo struct {
	gn, err []float64
}

// aux carries what the adaptive mode needs per input.
type aux struct {
	eErr float64 // the part of StateError from rounding (more passes do not reduce it)
	loss float64 // margin lost to StateError at the binding class pair
}

// newScratch allocates one worker's scratch for the model's sizes.
func (c *Certifier) newScratch() *scratch {
	T := lrrn.TileSize
	sc := &scratch{ws: c.solver.NewWorkspace(), st: c.solver.NewStates(T)}
	sc.xp = make([]float32, T*c.d0)
	sc.xc = make([]float32, T*c.chunk)
	sc.sums = newPairSum(c.levels, T*c.d1)
	sc.sparse = make([]bool, T)
	sc.nzAt = make([]int, T)
	sc.nzEnd = make([]int, T*c.nchunk)
	// Each sparse input keeps at most min(nzMax, d0) entries, and the scan
	// of one chunk writes at most chunk past them (see inputProduct).
	nz := T*min(c.nzMax, c.d0) + c.chunk
	sc.nzIdx = make([]int32, nz)
	sc.nzVal = make([]float32, nz)
	sc.v = make([]float32, T*c.d1)
	sc.xn = make([]float64, T)
	sc.prod = make([][]float32, c.numK+1)
	for j := 1; j <= c.numK; j++ {
		sc.prod[j] = make([]float32, T*c.prods[j].width)
	}
	sc.aux = make([]aux, T)
	if c.ref != nil {
		sc.gOff = make([]int, c.numK+1)
		nmax, off := 0, 0
		for k := 1; k <= c.numK; k++ {
			nmax = max(nmax, c.ref[k].n)
			sc.gOff[k] = off
			off += T * c.m.Sizes[k]
		}
		sc.y64 = make([]float64, T*nmax)
		sc.g64 = make([]float64, off)
	}
	return sc
}

// getScratch takes a scratch from the free list, or allocates one.
func (c *Certifier) getScratch() *scratch {
	select {
	case sc := <-c.free:
		return sc
	default:
		return c.newScratch()
	}
}

// putScratch returns sc to the free list (dropped when it is full).
func (c *Certifier) putScratch(sc *scratch) {
	select {
	case c.free <- sc:
	default:
	}
}

// batchJob is one CertifyBatch call shared by its workers.
type batchJob struct {
	c        *Certifier
	x        []float32
	labels   []int
	out      []Certificate
	n        int
	next     atomic.Int64 // next tile to take
	firstBad atomic.Int64 // first input with a non-finite value

	// the rounds of passes as needed after the tiles (parallel)
	scs     []*scratch   // the workers' scratches
	runs    []*passQueue // the tiles of the current step
	nextRun atomic.Int64 // next of runs to take
	mu      sync.Mutex   // guards arrived, gen and runs at the barrier
	cond    sync.Cond
	arrived int
	gen     int
}

// init sets up the job of one CertifyBatch call.
func (j *batchJob) init(c *Certifier, x []float32, labels []int, out []Certificate) {
	j.c, j.x, j.labels, j.out, j.n = c, x, labels, out, len(out)
	j.firstBad.Store(math.MaxInt64)
}

// inline runs the job's ntiles tiles in the calling goroutine.
func (j *batchJob) inline(ctx context.Context, ntiles int) error {
	c := j.c
	sc := c.getScratch()
	defer c.putScratch(sc)
	sc.out = j.out
	defer func() { sc.out = nil }()
	for t := 0; t < ntiles; t++ {
		if err := ctx.Err(); err != nil {
			c.drop(sc)
			return err
		}
		j.runTile(sc, t)
	}
	c.flush(sc)
	return j.err()
}

// parallel runs the job's ntiles tiles on workers goroutines, each taking
// the next tile until none is left or ctx is cancelled; then the same
// goroutines run the rounds of the inputs that need more passes
// (flushRounds).
func (j *batchJob) parallel(ctx context.Context, ntiles, workers int) error {
	c := j.c
	j.cond.L = &j.mu
	j.scs = make([]*scratch, workers)
	for w := range j.scs {
		j.scs[w] = c.getScratch()
		j.scs[w].out = j.out
	}
	j.runs = j.scs[0].runs[:0]
	var wg sync.WaitGroup
	wg.Add(workers)
	for w := 0; w < workers; w++ {
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t := int(j.next.Add(1) - 1)
				if t >= ntiles {
					break
				}
				j.runTile(j.scs[w], t)
			}
			j.flushRounds(ctx, w)
		}()
	}
	wg.Wait()
	j.scs[0].runs = j.runs[:0]
	for _, sc := range j.scs {
		c.drop(sc) // nothing left unless cancelled
		sc.out = nil
		c.putScratch(sc)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return j.err()
}

// flushRounds is worker w's part of finishing the inputs that wait for
// more passes in the workers' scratches: at each barrier the last worker
// to arrive takes the next rounds (nextRuns) and all run them, until none
// is left or ctx is cancelled.
func (j *batchJob) flushRounds(ctx context.Context, w int) {
	for {
		j.barrier(ctx)
		for {
			k := int(j.nextRun.Add(1) - 1)
			if k >= len(j.runs) {
				break
			}
			j.c.runQueue(j.scs[w], j.runs[k])
		}
		if len(j.runs) == 0 {
			return
		}
	}
}

// barrier waits until every worker has arrived; the last one sets the
// next runs (none when ctx is cancelled or no input waits).
func (j *batchJob) barrier(ctx context.Context) {
	j.mu.Lock()
	defer j.mu.Unlock()
	gen := j.gen
	j.arrived++
	if j.arrived < len(j.scs) {
		for gen == j.gen {
			j.cond.Wait()
		}
		return
	}
	j.arrived = 0
	j.runs = j.runs[:0]
	if ctx.Err() == nil {
		j.runs = j.c.nextRuns(j.scs, j.runs)
	}
	j.nextRun.Store(0)
	j.gen++
	j.cond.Broadcast()
}

// runTile certifies tile t of the job in sc and records the first input
// with a non-finite value.
func (j *batchJob) runTile(sc *scratch, t int) {
	c := j.c
	T := lrrn.TileSize
	i0 := t * T
	cnt := min(T, j.n-i0)
	var lab []int
	if j.labels != nil {
		lab = j.labels[i0 : i0+cnt]
	}
	if bad := c.tile(sc, j.x[i0*c.d0:(i0+cnt)*c.d0], lab, cnt, i0); bad >= 0 {
		for {
			cur := j.firstBad.Load()
			if int64(i0+bad) >= cur || j.firstBad.CompareAndSwap(cur, int64(i0+bad)) {
				break
			}
		}
	}
}

// err is the job's error about a non-finite input value, if any.
func (j *batchJob) err() error {
	if b := j.firstBad.Load(); b != math.MaxInt64 {
		return fmt.Errorf("verify: input %d has a value that is not finite: %w", b, ErrInput)
	}
	return nil
}

// tile certifies n ≤ TileSize inputs, whose certificates go to
// sc.out[i0 … i0+n−1], and returns the index of the first input with a
// non-finite value, or −1. With passes as needed, the inputs that need
// more passes wait in sc.queue (flush finishes them).
//
// Every input is computed in a full tile (a partial one is padded with
// zero inputs) by the same operations whatever its position: the kernels
// treat the tile's columns alike, so an input's certificate does not
// depend on the other inputs of its tile, on the batch size, on the
// worker count or on whether it continues in another tile.
func (c *Certifier) tile(sc *scratch, x []float32, labels []int, n, i0 int) int {
	T := lrrn.TileSize
	if n < T {
		copy(sc.xp, x[:n*c.d0])
		clear(sc.xp[n*c.d0:])
		x = sc.xp
	}
	bad := c.inputPart(sc, x, T, sc.v, sc.xn)
	passes := c.opts.Passes
	if c.numK > 0 {
		if err := c.solver.FreeWithInput(sc.ws, sc.v[:T*c.d1], T, passes, sc.st); err != nil {
			panic(err) // sizes were checked: a programming error
		}
	} else {
		passes = 0
	}
	out := sc.out[i0 : i0+n]
	c.evaluate(sc, sc.st, sc.v, x, sc.xn, labels, n, out, passes, sc.aux)
	adaptive := c.opts.Adaptive && c.numK > 0 && len(c.taus) > 0
	for j := 0; j < n; j++ {
		if L, more := c.needsPasses(&out[j], &sc.aux[j]); adaptive && passes < c.maxPasses && more {
			lab := -1
			if labels != nil {
				lab = labels[j]
			}
			next := c.nextPasses(passes, passes, 0, L, out[j].Margin)
			c.enqueue(sc, passes, next, sc.v[j*c.d1:(j+1)*c.d1], x[j*c.d0:(j+1)*c.d0], sc.xn[j], lab, i0+j, out[j].MarginLower, L, sc.st, j)
			continue
		}
		if sc.final != nil {
			sc.final(i0+j, sc.st, j)
		}
	}
	if bad >= n {
		bad = -1
	}
	return bad
}
