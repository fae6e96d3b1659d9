package store

// SetWALRestartFrames sets how many frames the WAL holds before the
// checkpointer makes it start over, for a test, and returns the undo.
func SetWALRestartFrames(n int) (undo func()) {
	old := walRestartFrames
	walRestartFrames = n
	return func() { walRestartFrames = old }
}
