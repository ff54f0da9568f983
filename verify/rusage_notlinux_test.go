//go:build !linux

package verify

// cpuSeconds is not measured on this system.
func cpuSeconds() float64 { return 0 }

// maxRSSBytes is not measured on this system.
func maxRSSBytes() float64 { return 0 }
