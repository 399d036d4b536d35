package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine outlives the tests: the HTTP
// server run starts, a hook delivery loop, a test's client.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
