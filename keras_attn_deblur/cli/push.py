"""`attn-deblur push`: publish a model to a Hugging Face Hub repo."""

from keras_attn_deblur.cli._common import PROG
from keras_attn_deblur.cli._common import CommandError
from keras_attn_deblur.cli._common import add_command
from keras_attn_deblur.cli._common import add_model_option
from keras_attn_deblur.cli._common import load_model


def register(subparsers):
    parser = add_command(
        subparsers,
        "push",
        "publish a model to a Hugging Face Hub repo",
        """\
        Publish a model to a Hub repo in one commit: the save_pretrained folder
        (config.json, model.weights.h5, metadata.json and a model card). A folder
        written by save_pretrained, or a preset's bundled weights, is uploaded
        unchanged (after checking its weights' hash); a .keras file or a Hub model is
        saved first. The repo is created if needed. Log in first (`hf auth login`) or
        pass --token / HF_TOKEN.""",
        (
            f"{PROG} push keras-attn-deblur/attn-deblur-patent --model patent",
            f"{PROG} push my-org/attn-deblur --model runs/gopro/model",
            f"{PROG} push my-org/attn-deblur --model runs/gopro/best.keras --private",
        ),
    )
    parser.add_argument("repo_id", help="the Hub repo, 'org/name'")
    add_model_option(parser, required=True)
    parser.add_argument("--private", action="store_true", help="create the repo as private")
    parser.add_argument("--token", default=None, help="Hub token (default: HF_TOKEN or the login)")
    parser.add_argument("--revision", default=None, help="branch to push to")
    parser.add_argument("--commit-message", default=None)
    parser.add_argument("--create-pr", action="store_true", help="open a pull request instead")
    parser.set_defaults(handler=run)


def run(args):
    from keras_attn_deblur import hub
    from keras_attn_deblur.hub.layout import saved_folder

    options = dict(
        private=args.private, token=args.token, revision=args.revision,
        commit_message=args.commit_message, create_pr=args.create_pr,
    )  # fmt: skip
    folder = saved_folder(args.model)
    if folder is not None:  # a save_pretrained folder or bundled weights: uploaded unchanged
        result = hub.push_folder(folder, args.repo_id, **options)
        what = f"'{folder}' unchanged "
    else:
        model = load_model(args.model)
        if not hasattr(model, "push_to_hub"):
            raise CommandError(
                f"push needs an AttnDeblurNet; '{args.model}' holds a {type(model).__name__}."
            )
        result = model.push_to_hub(args.repo_id, **options)
        what = ""
    url = getattr(result, "commit_url", None) or getattr(result, "pr_url", None) or result
    print(f"pushed {what}to '{args.repo_id}'" + (f": {url}" if url else ""))
    return 0
