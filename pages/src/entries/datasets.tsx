import { Layout, mount } from "../lib/layout";

mount(<Layout title="Datasets">{null}</Layout>);
