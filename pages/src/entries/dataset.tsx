import { Layout, mount } from "../lib/layout";

mount(<Layout title="Dataset">{null}</Layout>);
