"""Evaluations of the extractor against labelled data: check-worthiness ranking on CLEF transcripts, types."""
