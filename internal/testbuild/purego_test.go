//go:build purego

package testbuild

const puregoBuild = true
