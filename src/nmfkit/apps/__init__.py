"""The jobs users run NMF for: topics, image parts, pictures, the demo."""
