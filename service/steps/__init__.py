"""Pure steps, no I/O to models: text and sentences, transcripts, chunking, grounding, dedupe."""
