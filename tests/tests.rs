mod cli {}
mod fit;
