"""The jobs users run NMF for: topics, image parts, pictures, the demo.

topics.py (top_terms, document_topics, make_topic_corpus), images.py (parts_grid), plots/
(plot_history, plot_parts, plot_consensus, plot_factors, plot_rank_survey) and demo.py (the
swimmer demo of `nmfkit demo`) take a fitted model or its arrays, read by core.inputs.
"""
