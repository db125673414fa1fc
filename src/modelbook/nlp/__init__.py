"""Language building blocks shared by the nlp, dialogue and text-gan labs.

    classify.py     jieba segmentation; TF-IDF + logistic regression (scikit-learn, the right tool for a
                    baseline); a fastText-style bag of n-grams written in torch and trained with core.train.fit
    perplexity.py   perplexity and bits per character with strided windows; likelihood of a continuation and
                    multiple-choice probabilities
    charlm.py       character language modelling: vocabulary, windows, bits per character, n-gram baselines
    rag.py          retrieval-augmented generation: pick the passage, prompt with it, cite it, measure groundedness
"""
