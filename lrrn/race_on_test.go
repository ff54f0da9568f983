//go:build race

package lrrn

// raceEnabled: the race detector makes sync.Pool drop items at random.
const raceEnabled = true
