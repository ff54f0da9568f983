//go:build race

package verify

// raceEnabled: tests whose cost is single-goroutine numerics (exact
// references) shrink under the race detector, which slows them tenfold and
// has nothing to find there; the full versions run without -race.
const raceEnabled = true
