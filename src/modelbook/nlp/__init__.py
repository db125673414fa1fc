"""Classical and small neural text classification, shared by the nlp and dialogue labs.

    classify.py   jieba segmentation; TF-IDF + logistic regression (scikit-learn, the right tool for a
                  baseline); a fastText-style bag of n-grams written in torch and trained with core.train.fit
"""
