"""Vision building blocks (topic 11): a small CNN and a ViT from scratch, frozen EfficientNet-Lite0 features,
generated canvases with exact boxes and masks, an anchor-free detector with NMS and COCO mAP, a U-Net with IoU."""
