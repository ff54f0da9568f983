//go:build !race

package lrrn

const raceEnabled = false
