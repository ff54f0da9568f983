//go:build !linux

package main

import (
	"errors"
	"os"
)

// errNotMeasured: on this system setup-scaling has no CPU time or peak
// resident set measurement (setup_linux.go has Linux's).
var errNotMeasured = errors.New("setup-scaling measures CPU time and peak RSS on Linux only")

func cpuSeconds() (float64, error) { return 0, errNotMeasured }

func peakRSS(*os.ProcessState) (float64, error) { return 0, errNotMeasured }
