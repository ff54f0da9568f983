//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// cpuSeconds returns the user+system CPU time of this process so far, all
// threads.
func cpuSeconds() (float64, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6, nil
}

// peakRSS returns the peak resident set size, in bytes, of an exited
// child.
func peakRSS(ps *os.ProcessState) (float64, error) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return 0, errors.New("no resource usage of the child")
	}
	return float64(ru.Maxrss) * 1024, nil // kilobytes on Linux
}
